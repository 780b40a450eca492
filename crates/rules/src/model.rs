//! A checked, compiled regulation: what [`crate::compile`] produces and [`crate::evaluate`] runs.
//!
//! Names are resolved to indexes and expressions to [`Expr`] trees once, when the file is loaded.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::expr::Expr;
use crate::value::Value;

/// A regulation ready to evaluate applications.
#[derive(Debug, Clone)]
pub struct Regulation {
    /// Identity and source.
    pub identity: Identity,
    /// SHA-256 (hex) of [`Regulation::flattened`]: pins a ranking to the exact rules it used.
    pub hash: String,
    /// The effective regulation after inheritance, as TOML.
    pub flattened: String,
    pub(crate) inputs: Vec<InputDef>,
    pub(crate) lists: Vec<ListDef>,
    pub(crate) choices: Vec<ChoiceSet>,
    pub(crate) derived: Vec<DerivedDef>,
    pub(crate) sections: Vec<Labelled>,
    /// Index of the derived value holding the section, when sections are declared.
    pub(crate) section_slot: Option<u16>,
    pub(crate) eligibility: Vec<EligibilityRule>,
    pub(crate) tiers: Vec<TierLevel>,
    pub(crate) subtotals: Vec<Labelled>,
    pub(crate) criteria: Vec<Criterion>,
    pub(crate) tie_breaks: Vec<TieBreak>,
    pub(crate) fee: Option<Fee>,
    pub(crate) points_decimals: u32,
    pub(crate) allocation: AllocationRules,
    pub(crate) reserve: Option<Reserve>,
    /// The choice input whose options have seats of their own (input slot, choice set).
    pub(crate) time_slot: Option<(u16, u16)>,
    /// The amount granted to a beneficiary, for calls with a budget.
    pub(crate) grant: Option<Fee>,
    /// Per section: the neighbouring section whose spare seats its border children may take, and
    /// who is at the border.
    pub(crate) borders: Vec<Option<(u16, Expr)>>,
}

/// Seats reserved for a group of applicants in every facility and section (`[allocation.reserve]`).
#[derive(Debug, Clone)]
pub struct Reserve {
    /// What it is for.
    pub label: String,
    /// Who belongs to the group.
    pub condition: Expr,
    /// Seats the group gets first, however its members rank among the others.
    pub seats: SeatCount,
    /// Most seats the group may take.
    pub cap: Option<SeatCount>,
}

/// A number of seats: fixed, or a share of a facility's seats in a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatCount {
    /// This many seats.
    Seats(u32),
    /// This many percent of the seats, rounded down.
    Percent(u32),
}

impl SeatCount {
    /// The number of seats out of `total`.
    pub fn of(self, total: u32) -> u32 {
        match self {
            SeatCount::Seats(n) => n.min(total),
            SeatCount::Percent(p) => u32::try_from(u64::from(total) * u64::from(p) / 100).unwrap_or(total),
        }
    }
}

/// How seats are given: the mechanism, which lists are made, and what answers to offers cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AllocationRules {
    /// How seats are given from the lists.
    pub mechanism: MechanismKind,
    /// Which lists are made and published.
    pub lists: ListKind,
    /// What a refusal costs.
    pub refusal: RefusalPolicy,
    /// No answer by the deadline counts as acceptance (`true`) or as refusal.
    pub no_answer_accepts: bool,
    /// Families placed at a lower choice move up when a better one frees.
    pub move_up: bool,
    /// With a budget, what happens when the next beneficiary's amount no longer fits.
    pub budget_edge: EdgePolicy,
    /// Siblings applying together are placed in the same facility, or none of them is.
    pub siblings_together: bool,
}

/// What happens when the next beneficiary's amount no longer fits in what is left of the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgePolicy {
    /// Stop: nobody further down the ranking is funded.
    Stop,
    /// Skip to the next beneficiaries whose amount still fits.
    SkipToNextThatFits,
    /// Grant what is left to that beneficiary (a partial grant), then stop.
    GrantRemainder,
}

/// The allocation mechanisms a regulation may name (`docs/allocation.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MechanismKind {
    /// One order; each family in turn takes its best facility with a free seat (serial dictatorship).
    GlobalOrder,
    /// Family-proposing deferred acceptance with each facility's own order.
    DeferredAcceptance,
    /// Everybody's first choice before anybody's second (immediate acceptance).
    FirstChoiceFirst,
}

/// Which lists to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListKind {
    /// One list for everybody.
    Global,
    /// One list per age section.
    PerSection,
    /// One list per facility, of the applications that chose it.
    PerFacility,
}

/// What a refusal costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalPolicy {
    /// Only the refused facility is lost; the other preferences stay (Trento).
    LoseFacility,
    /// The whole application is lost (Unione Valdera, Maranello).
    LoseApplication,
    /// This many refusals lose only the facility; the next one loses the application (Bologna: 1).
    Allowed(u32),
    /// Refusing the first choice loses the application; refusing a lower choice only that facility.
    FirstChoiceRefusalCancels,
}

/// Who adopted the regulation, for which service and year, from which act.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Kind of service.
    pub service: String,
    /// School year.
    pub school_year: String,
    /// Municipality or union.
    pub authority: String,
    /// ISTAT code, for one town's regulation.
    pub istat: Option<String>,
    /// Source act.
    pub source: String,
    /// Date of the source act.
    pub source_date: Option<Date>,
    /// Date ages are computed at.
    pub reference_date: Date,
    /// Assumptions made for values the source did not give.
    pub assumptions: Vec<String>,
    /// Files it was read from, root first.
    pub files: Vec<String>,
}

/// An id and a label.
#[derive(Debug, Clone, Serialize)]
pub struct Labelled {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
}

/// The options of one choice input (or of a derived value defined by cases).
#[derive(Debug, Clone)]
pub struct ChoiceSet {
    /// Where it comes from, for messages (`work`).
    pub name: String,
    /// Options in order.
    pub options: Vec<Labelled>,
}

/// Type and bounds of an input.
#[derive(Debug, Clone, PartialEq)]
pub enum InputKind {
    /// Yes/no.
    Bool,
    /// Whole number within bounds.
    Integer {
        /// Lowest.
        min: Option<i64>,
        /// Highest.
        max: Option<i64>,
    },
    /// Decimal within bounds.
    Decimal {
        /// Lowest.
        min: Option<Decimal>,
        /// Highest.
        max: Option<Decimal>,
    },
    /// Euro and cents within bounds.
    Money {
        /// Lowest.
        min: Option<Decimal>,
        /// Highest.
        max: Option<Decimal>,
    },
    /// Calendar date within bounds.
    Date {
        /// Earliest.
        min: Option<Date>,
        /// Latest.
        max: Option<Date>,
    },
    /// One option of a choice list.
    Choice(u16),
    /// One facility of the call.
    Facility,
    /// Facilities of the call, in order, without repetition.
    Facilities {
        /// Most facilities.
        max: Option<u32>,
    },
}

/// One question of the form.
#[derive(Debug, Clone)]
pub struct InputDef {
    /// Name in the application JSON.
    pub id: String,
    /// Question.
    pub label: String,
    /// Help text.
    pub help: Option<String>,
    /// Type and bounds.
    pub kind: InputKind,
    /// May be left empty.
    pub optional: bool,
    /// Asked only when this holds.
    pub ask_if: Option<Expr>,
    /// Special category of personal data.
    pub sensitive: bool,
}

/// A repeated input: records with the same fields (one per parent, per other child).
#[derive(Debug, Clone)]
pub struct ListDef {
    /// Name in the application JSON.
    pub id: String,
    /// Title of the group on the form.
    pub label: String,
    /// Help text.
    pub help: Option<String>,
    /// Name of one record in expressions.
    pub item: String,
    /// Name of one record in explanations ("Genitore").
    pub item_label: String,
    /// Fewest records.
    pub min_items: u32,
    /// Most records.
    pub max_items: u32,
    /// Fields of each record.
    pub fields: Vec<InputDef>,
    /// Asked only when this holds.
    pub ask_if: Option<Expr>,
}

/// A derived value, in evaluation order.
#[derive(Debug, Clone)]
pub struct DerivedDef {
    /// Name.
    pub id: String,
    /// Label.
    pub label: String,
    /// How it is computed.
    pub expr: Expr,
}

/// An eligibility rule.
#[derive(Debug, Clone)]
pub struct EligibilityRule {
    /// Id.
    pub id: String,
    /// Reason shown when it fails (or for a reserve).
    pub reason: String,
    /// The condition.
    pub condition: Expr,
    /// True for `reserve_if` rules (admission *con riserva* when the condition holds).
    pub reserve: bool,
}

/// A level of tiers: groups in order, one per application.
#[derive(Debug, Clone)]
pub struct TierLevel {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Groups, best first, each with its condition (the last has none).
    pub groups: Vec<(Labelled, Option<Expr>)>,
    /// The group labels may appear in public lists (`public = true`). Off by default, because a
    /// label such as "disabilità" next to a protocol number discloses health or social data.
    pub public: bool,
}

/// How a criterion turns facts into points.
#[derive(Debug, Clone)]
pub enum PointsRule {
    /// Fixed points (when the condition holds).
    Fixed(Decimal),
    /// Points computed by an expression.
    Formula(Expr),
    /// Points per option of a choice value.
    Table {
        /// The choice value.
        value: Expr,
        /// Points per option index.
        points: Vec<Decimal>,
    },
    /// Points per range of a number.
    Bands {
        /// The number.
        value: Expr,
        /// The ranges.
        bands: Vec<Band>,
    },
}

/// One inclusive range of a number and what it gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// Lowest value, if bounded.
    pub from: Option<Decimal>,
    /// Highest value, if bounded.
    pub to: Option<Decimal>,
    /// What the band gives.
    pub gives: BandValue,
}

/// What a band gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BandValue {
    /// A constant.
    Fixed(Decimal),
    /// Linear from the first value at `from` to the second at `to`.
    Linear(Decimal, Decimal),
}

/// A criterion that gives points.
#[derive(Debug, Clone)]
pub struct Criterion {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Subtotal index.
    pub subtotal: Option<u16>,
    /// Applies only when this holds.
    pub when: Option<Expr>,
    /// List it is evaluated over, record by record.
    pub for_each: Option<u16>,
    /// How points are computed.
    pub rule: PointsRule,
    /// Multiplier of the points.
    pub multiplier: Option<Expr>,
    /// Cap.
    pub max: Option<Decimal>,
    /// True when it depends on the facility being ranked.
    pub per_facility: bool,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Smallest first (older child first for birth dates; `false` before `true`).
    Asc,
    /// Largest first.
    Desc,
}

/// What a tie-break compares.
#[derive(Debug, Clone)]
pub enum TieKind {
    /// A value computed for each application.
    Value(Expr),
    /// The public draw: SHA-256 of the seed and the protocol number.
    Draw,
    /// The protocol (application) number.
    Protocol,
}

/// One step of the tie-break chain.
#[derive(Debug, Clone)]
pub struct TieBreak {
    /// Label.
    pub label: String,
    /// What it compares.
    pub kind: TieKind,
    /// Default direction.
    pub order: Order,
    /// Missing values first (`true`) or last.
    pub missing_first: bool,
    /// Direction for particular sections (by section index).
    pub section_order: Vec<(u16, Order)>,
    /// True when it depends on the facility being ranked.
    pub per_facility: bool,
}

/// Rounding of fee amounts to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero (the usual commercial rounding): 0.005 → 0.01.
    HalfUp,
    /// Half to even (banker's rounding).
    HalfEven,
    /// Towards zero (truncation).
    Down,
    /// Away from zero.
    Up,
}

/// The fee formula.
#[derive(Debug, Clone)]
pub struct Fee {
    /// Label.
    pub label: String,
    /// The value the bands look up.
    pub value: Expr,
    /// When the value is missing: charge the last band (`true`) or refuse.
    pub missing_highest: bool,
    /// Rounding to the cent.
    pub rounding: Rounding,
    /// Components, each with its bands.
    pub components: Vec<FeeComponent>,
}

/// One part of a fee.
#[derive(Debug, Clone)]
pub struct FeeComponent {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Unit (`mese`, `giorno`).
    pub per: String,
    /// Amount per range.
    pub bands: Vec<Band>,
}

impl Regulation {
    /// The age sections, in order.
    pub fn sections(&self) -> &[Labelled] {
        &self.sections
    }
    /// The subtotals, in order.
    pub fn subtotals(&self) -> &[Labelled] {
        &self.subtotals
    }
    /// The tier levels.
    pub fn tiers(&self) -> &[TierLevel] {
        &self.tiers
    }
    /// The criteria.
    pub fn criteria(&self) -> &[Criterion] {
        &self.criteria
    }
    /// The tie-break chain.
    pub fn tie_breaks(&self) -> &[TieBreak] {
        &self.tie_breaks
    }
    /// The scalar inputs.
    pub fn inputs(&self) -> &[InputDef] {
        &self.inputs
    }
    /// The repeated inputs.
    pub fn lists(&self) -> &[ListDef] {
        &self.lists
    }
    /// The choice lists.
    pub fn choices(&self) -> &[ChoiceSet] {
        &self.choices
    }
    /// The fee formula, if any.
    pub fn fee(&self) -> Option<&Fee> {
        self.fee.as_ref()
    }
    /// True when some criterion or tie-break depends on the facility being ranked, so that the ranking
    /// must be made per facility.
    pub fn is_per_facility(&self) -> bool {
        self.criteria.iter().any(|c| c.per_facility) || self.tie_breaks.iter().any(|t| t.per_facility)
    }
    /// How seats are given and what answers cost (`[allocation]`, or the defaults of `docs/rules.md`).
    pub fn allocation(&self) -> AllocationRules {
        self.allocation
    }
    /// The time slots (full time, part time…) that have seats of their own; empty when seats are not
    /// split by time slot.
    pub fn time_slots(&self) -> &[Labelled] {
        self.time_slot
            .and_then(|(_, set)| self.choices.get(usize::from(set)))
            .map_or(&[], |c| c.options.as_slice())
    }
    /// The time slot an application asks for (index in [`Regulation::time_slots`]).
    pub fn time_slot_of(&self, facts: &crate::Facts) -> Option<u16> {
        let (slot, _) = self.time_slot?;
        match facts.scalar(slot) {
            Value::Choice(c) => Some(c),
            _ => None,
        }
    }
    /// The time slot chosen by application `a` of a batch, when the regulation splits seats by slot.
    pub fn time_slot_at(&self, facts: &crate::FactsBatch, a: usize) -> Option<u16> {
        let (slot, _) = self.time_slot?;
        match facts.scalar(a, slot) {
            Value::Choice(c) => Some(c),
            _ => None,
        }
    }
    /// True when some section lets children at its border take spare seats of a neighbouring one.
    pub fn has_borders(&self) -> bool {
        self.borders.iter().any(Option::is_some)
    }
    /// Seats reserved for a group, if the regulation reserves any.
    pub fn reserve(&self) -> Option<&Reserve> {
        self.reserve.as_ref()
    }
    /// The option label of a choice value, for display.
    pub fn option_label(&self, set: u16, value: Value) -> Option<&str> {
        let Value::Choice(i) = value else { return None };
        let set = self.choices.get(usize::from(set))?;
        set.options.get(usize::from(i)).map(|o| o.label.as_str())
    }
}
