//! The rules file exactly as written: structures mirroring the TOML, every value with its position.
//!
//! Nothing here is checked beyond the shape of the file (unknown keys are refused). [`crate::compile`]
//! turns a merged [`RawFile`] into a checked [`crate::Regulation`]. Everything is optional so that a
//! town's file extending a union's file can override single keys; tables keyed by id (`[criteria.twins]`)
//! merge key by key, arrays (`groups`, `bands`, `tie_break`) are replaced whole.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::source::Sp;

/// A value written as a number, a string (an expression, or a decimal in quotes), a boolean or a date.
pub type Any = Sp<toml::Value>;

/// A whole rules file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Path of the file this one extends, relative to this file.
    #[serde(skip_serializing)]
    pub extends: Option<Sp<String>>,
    /// Identity and source of the regulation.
    pub regulation: Option<Sp<RawIdentity>>,
    /// Named constants usable in expressions.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Any>,
    /// What the family is asked.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, Sp<RawInput>>,
    /// Values computed from the inputs.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub derived: IndexMap<String, Sp<RawDerived>>,
    /// Age sections.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub sections: IndexMap<String, Sp<RawSection>>,
    /// Conditions to be admitted to the ranking at all.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub eligibility: IndexMap<String, Sp<RawEligibility>>,
    /// Ordered groups ranked above points.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub tiers: IndexMap<String, Sp<RawTierLevel>>,
    /// Named partial sums of points.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub subtotals: IndexMap<String, Sp<String>>,
    /// Criteria that give points.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub criteria: IndexMap<String, Sp<RawCriterion>>,
    /// How ties are broken, in order.
    pub tie_break: Option<Sp<Vec<Sp<RawTieBreak>>>>,
    /// Monthly fee as a function of ISEE.
    pub fee: Option<Sp<RawFee>>,
    /// How seats are given and what answers to offers cost.
    pub allocation: Option<Sp<RawAllocation>>,
    /// The amount of a voucher or contribution, for calls that grant money instead of seats.
    pub grant: Option<Sp<RawFee>>,
}

/// `[allocation]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawAllocation {
    /// `global_order`, `deferred_acceptance` or `first_choice_first`.
    pub mechanism: Option<Sp<String>>,
    /// `global`, `per_section` or `per_facility`.
    pub lists: Option<Sp<String>>,
    /// `lose_facility`, `lose_application`, `first_choice_cancels` or `allowed`.
    pub refusal: Option<Sp<String>>,
    /// Refusals that cost only the facility, with `refusal = "allowed"`.
    pub refusals_allowed: Option<Sp<i64>>,
    /// `accept` or `refuse`: what no answer by the deadline counts as.
    pub no_answer: Option<Sp<String>>,
    /// Families placed at a lower choice move up when a better one frees.
    pub move_up: Option<Sp<bool>>,
    /// Seats reserved for (or limited to) a group of applicants, in every facility and section.
    pub reserve: Option<Sp<RawReserve>>,
    /// A choice input whose options (full time, part time) have seats of their own.
    pub time_slot: Option<Sp<String>>,
    /// With a budget: `stop`, `skip` or `remainder` when the next amount no longer fits.
    pub budget_edge: Option<Sp<String>>,
    /// Siblings applying together (same `family`) are placed in the same facility or not at all.
    pub siblings_together: Option<Sp<bool>>,
}

/// `[allocation.reserve]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawReserve {
    /// What the reservation is for.
    pub label: Option<Sp<String>>,
    /// Who belongs to the group.
    pub when: Option<Sp<String>>,
    /// Seats the group gets first: a whole number, or a share such as `"20%"` (rounded down).
    pub seats: Option<Any>,
    /// Most seats the group may take: a whole number or a share (rounded down).
    pub cap: Option<Any>,
}

/// `[regulation]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    /// Short stable id, e.g. `bologna-nidi-2026`.
    pub id: Option<Sp<String>>,
    /// Title shown to families.
    pub title: Option<Sp<String>>,
    /// Kind of service.
    pub service: Option<Sp<String>>,
    /// `2026/2027`
    pub school_year: Option<Sp<String>>,
    /// Municipality or union that adopted it.
    pub authority: Option<Sp<String>>,
    /// ISTAT code of the municipality, when it is one town's regulation.
    pub istat: Option<Sp<String>>,
    /// The act it encodes (resolution, notice).
    pub source: Option<Sp<String>>,
    /// Date of that act.
    pub source_date: Option<Any>,
    /// Date ages are computed at.
    pub reference_date: Option<Any>,
    /// Decimal places of each criterion's points (default 2).
    pub points_decimals: Option<Sp<i64>>,
    /// Assumptions made where the source was silent or unreadable.
    pub assumptions: Option<Sp<Vec<String>>>,
}

/// `[inputs.NAME]` (and `[inputs.LIST.fields.NAME]`)
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    /// `bool`, `integer`, `decimal`, `money`, `date`, `choice`, `facility`, `facilities`, `list`.
    #[serde(rename = "type")]
    pub kind: Option<Sp<String>>,
    /// Question shown on the form.
    pub label: Option<Sp<String>>,
    /// Help text shown under it.
    pub help: Option<Sp<String>>,
    /// May be left empty.
    pub optional: Option<Sp<bool>>,
    /// Asked only when this condition holds.
    pub ask_if: Option<Sp<String>>,
    /// Smallest accepted value.
    pub min: Option<Any>,
    /// Largest accepted value.
    pub max: Option<Any>,
    /// Choice options: id → label, in the order shown.
    pub options: Option<Sp<IndexMap<String, String>>>,
    /// Name of one record of a list (`parent` for `parents`).
    pub item: Option<Sp<String>>,
    /// How one record is called in explanations (`Genitore`); default: the `item` name.
    pub item_label: Option<Sp<String>>,
    /// Fewest records of a list.
    pub min_items: Option<Sp<i64>>,
    /// Most records of a list (or facilities in a list of facilities).
    pub max_items: Option<Sp<i64>>,
    /// Fields of each record of a list.
    pub fields: Option<IndexMap<String, Sp<RawInput>>>,
    /// Health, disability or social data (GDPR art. 9): never exported outside the office.
    pub sensitive: Option<Sp<bool>>,
    /// `false` removes an inherited input.
    pub enabled: Option<Sp<bool>>,
}

/// `[derived.NAME]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDerived {
    /// What it is, for the breakdown.
    pub label: Option<Sp<String>>,
    /// An expression.
    pub expr: Option<Sp<String>>,
    /// Or the first matching case.
    pub cases: Option<Sp<Vec<Sp<RawCase>>>>,
    /// Value when no case matches.
    pub otherwise: Option<Any>,
    /// `false` removes an inherited value.
    pub enabled: Option<Sp<bool>>,
}

/// One of `cases = [...]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    /// Condition.
    pub when: Sp<String>,
    /// Value (a number, or an option name).
    pub value: Any,
    /// Label of the option, when the value is a name.
    pub label: Option<String>,
}

/// `[sections.ID]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    /// Name shown.
    pub label: Option<Sp<String>>,
    /// Who belongs to it.
    pub when: Option<Sp<String>>,
    /// A neighbouring section whose seats left free may go to children of this one…
    pub spare_to: Option<Sp<String>>,
    /// …for whom this holds (born at the border between the two).
    pub spare_if: Option<Sp<String>>,
    /// `false` removes an inherited section.
    pub enabled: Option<Sp<bool>>,
}

/// `[eligibility.ID]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEligibility {
    /// Must hold, or the application is excluded.
    pub require: Option<Sp<String>>,
    /// When it holds, the application is admitted *con riserva*.
    pub reserve_if: Option<Sp<String>>,
    /// Reason shown to the family.
    pub reason: Option<Sp<String>>,
    /// `false` removes an inherited rule.
    pub enabled: Option<Sp<bool>>,
}

/// `[tiers.ID]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTierLevel {
    /// Name of the level.
    pub label: Option<Sp<String>>,
    /// Groups, best first; the last has no condition.
    pub groups: Option<Sp<Vec<Sp<RawGroup>>>>,
    /// `true` publishes the group labels in public lists; otherwise they say only "precedenza".
    pub public: Option<Sp<bool>>,
    /// `false` removes an inherited level.
    pub enabled: Option<Sp<bool>>,
}

/// One group of a tier level.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// Id.
    pub id: Sp<String>,
    /// Name shown in rankings.
    pub label: Sp<String>,
    /// Membership condition; none on the last group.
    pub when: Option<Sp<String>>,
}

/// `[criteria.ID]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCriterion {
    /// Name shown in the breakdown.
    pub label: Option<Sp<String>>,
    /// Subtotal it counts towards.
    pub subtotal: Option<Sp<String>>,
    /// Applies only when this holds.
    pub when: Option<Sp<String>>,
    /// Evaluated once per record of this list, points summed.
    pub for_each: Option<Sp<String>>,
    /// Fixed points, or an expression giving them.
    pub points: Option<Any>,
    /// The value that `table` or `bands` look up.
    pub value: Option<Sp<String>>,
    /// Points per option of a choice.
    pub table: Option<Sp<IndexMap<String, Any>>>,
    /// Points per range of a number.
    pub bands: Option<Sp<Vec<Sp<RawBand>>>>,
    /// Multiplies the points (a number or an expression).
    pub multiplier: Option<Any>,
    /// Upper limit of the criterion's points.
    pub max: Option<Any>,
    /// `false` removes an inherited criterion.
    pub enabled: Option<Sp<bool>>,
}

/// One band of `bands = [...]`: bounds are inclusive.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawBand {
    /// Lowest value of the band (none: no lower bound).
    pub from: Option<Any>,
    /// Highest value of the band (none: no upper bound).
    pub to: Option<Any>,
    /// Points (criteria).
    pub points: Option<Any>,
    /// Amount (fees).
    pub amount: Option<Any>,
    /// `[at_from, at_to]`: interpolated linearly between the bounds.
    pub linear: Option<Sp<Vec<Any>>>,
}

/// One of `[[tie_break]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawTieBreak {
    /// Expression, subtotal name, or `draw` / `protocol`.
    pub by: Sp<String>,
    /// `asc` or `desc` (default `asc`).
    pub order: Option<Sp<String>>,
    /// `first` or `last` (default `last`).
    pub missing: Option<Sp<String>>,
    /// Name shown.
    pub label: Option<Sp<String>>,
    /// Different order in some sections: section id → `asc` / `desc`.
    pub section_order: Option<Sp<IndexMap<String, Sp<String>>>>,
}

/// `[fee]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFee {
    /// Name shown.
    pub label: Option<Sp<String>>,
    /// The value the bands look up (usually `isee`).
    pub value: Option<Sp<String>>,
    /// `highest` (the fee of the last band) or `refuse` when the value is missing.
    pub missing: Option<Sp<String>>,
    /// `half_up` (default), `half_even`, `down`, `up`.
    pub rounding: Option<Sp<String>>,
    /// Parts of the fee (monthly, daily...).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub components: IndexMap<String, Sp<RawFeeComponent>>,
}

/// `[fee.components.ID]`
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeeComponent {
    /// Name shown.
    pub label: Option<Sp<String>>,
    /// What the amount is per (`mese`, `giorno`).
    pub per: Option<Sp<String>>,
    /// Amount per range of the value.
    pub bands: Option<Sp<Vec<Sp<RawBand>>>>,
}

/// Applies a child file's settings over its parent's.
pub trait Merge {
    /// Overwrites what `child` sets, keeps the rest.
    fn merge(&mut self, child: Self);
}

macro_rules! merge_options {
    ($t:ty: $($field:ident),*) => {
        impl Merge for $t {
            fn merge(&mut self, child: Self) {
                $(if child.$field.is_some() { self.$field = child.$field; })*
            }
        }
    };
}

merge_options!(RawIdentity: id, title, service, school_year, authority, istat, source, source_date,
    reference_date, points_decimals, assumptions);
merge_options!(RawDerived: label, expr, cases, otherwise, enabled);
merge_options!(RawSection: label, when, spare_to, spare_if, enabled);
merge_options!(RawEligibility: require, reserve_if, reason, enabled);
merge_options!(RawTierLevel: label, groups, public, enabled);
merge_options!(RawCriterion: label, subtotal, when, for_each, points, value, table, bands, multiplier,
    max, enabled);
merge_options!(RawFeeComponent: label, per, bands);
merge_options!(RawAllocation: mechanism, lists, refusal, refusals_allowed, no_answer, move_up, reserve,
    time_slot, budget_edge, siblings_together);

impl Merge for RawInput {
    fn merge(&mut self, mut child: Self) {
        let child_fields = child.fields.take();
        macro_rules! take {
            ($($f:ident),*) => { $(if child.$f.is_some() { self.$f = child.$f; })* };
        }
        take!(
            kind, label, help, optional, ask_if, min, max, options, item, min_items, max_items, sensitive,
            enabled
        );
        if let Some(child_fields) = child_fields {
            merge_map(self.fields.get_or_insert_with(IndexMap::new), child_fields);
        }
    }
}

impl Merge for RawFee {
    fn merge(&mut self, child: Self) {
        if child.label.is_some() {
            self.label = child.label;
        }
        if child.value.is_some() {
            self.value = child.value;
        }
        if child.missing.is_some() {
            self.missing = child.missing;
        }
        if child.rounding.is_some() {
            self.rounding = child.rounding;
        }
        merge_map(&mut self.components, child.components);
    }
}

impl<T: Merge> Merge for Sp<T> {
    fn merge(&mut self, child: Self) {
        self.value.merge(child.value);
    }
}

impl<T: Merge> Merge for Option<T> {
    fn merge(&mut self, child: Self) {
        match (self.as_mut(), child) {
            (Some(mine), Some(theirs)) => mine.merge(theirs),
            (None, Some(theirs)) => *self = Some(theirs),
            (_, None) => {}
        }
    }
}

/// Merges tables keyed by id: existing keys merge field by field, new keys are appended.
pub fn merge_map<T: Merge>(mine: &mut IndexMap<String, T>, theirs: IndexMap<String, T>) {
    for (key, value) in theirs {
        match mine.get_mut(&key) {
            Some(existing) => existing.merge(value),
            None => {
                mine.insert(key, value);
            }
        }
    }
}

impl Merge for RawFile {
    fn merge(&mut self, child: Self) {
        self.extends = child.extends;
        self.regulation.merge(child.regulation);
        for (k, v) in child.params {
            self.params.insert(k, v);
        }
        merge_map(&mut self.inputs, child.inputs);
        merge_map(&mut self.derived, child.derived);
        merge_map(&mut self.sections, child.sections);
        merge_map(&mut self.eligibility, child.eligibility);
        merge_map(&mut self.tiers, child.tiers);
        for (k, v) in child.subtotals {
            self.subtotals.insert(k, v);
        }
        merge_map(&mut self.criteria, child.criteria);
        if child.tie_break.is_some() {
            self.tie_break = child.tie_break;
        }
        self.fee.merge(child.fee);
        self.allocation.merge(child.allocation);
        self.grant.merge(child.grant);
    }
}
