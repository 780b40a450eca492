//! The condition language of rules files: parsing ([`parse`]), type checking and compiling into a tree
//! that evaluates without allocating ([`check`]), and evaluation ([`eval`]).

pub mod check;
pub mod eval;
pub mod parse;

use crate::value::Value;

/// A compiled, type-checked expression. Names are resolved to slots, option names to indexes, constants
/// folded in: evaluation only walks the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal or a parameter.
    Const(Value),
    /// A scalar input of the application.
    Input(u16),
    /// A derived value (computed before criteria, in dependency order).
    Derived(u16),
    /// A field of the record of `list` currently bound by an aggregate or a `for_each`.
    ItemField {
        /// Which list input.
        list: u16,
        /// Which field of its records.
        field: u16,
    },
    /// 1-based position of the current record in its list.
    ItemIndex(u16),
    /// A named subtotal (tie-breaks only).
    Subtotal(u16),
    /// The total score (tie-breaks only).
    Total,
    /// The facility being ranked (per-facility criteria).
    Facility,
    /// Position of that facility in the family's preferences, 1 for the first choice.
    PreferenceRank,
    /// `not`
    Not(Box<Expr>),
    /// `and`, short-circuiting.
    And(Box<Expr>, Box<Expr>),
    /// `or`, short-circuiting.
    Or(Box<Expr>, Box<Expr>),
    /// A comparison.
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    /// Arithmetic on numbers.
    Arith(ArithOp, Box<Expr>, Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `a ?? b`: `a`, or `b` when `a` is missing.
    Coalesce(Box<Expr>, Box<Expr>),
    /// `present(a)`
    Present(Box<Expr>),
    /// `if c then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `a in [..]` with literal members.
    InSet(Box<Expr>, Box<[Value]>),
    /// `facility in some_list_of_facilities`
    InFacilities(Box<Expr>, Box<Expr>),
    /// Length of a list of facilities.
    FacilityCount(Box<Expr>),
    /// `count(list)` or `count(list, condition)`
    Count(u16, Option<Box<Expr>>),
    /// `sum(list, value)`
    Sum(u16, Box<Expr>),
    /// `any(list, condition)`
    Any(u16, Box<Expr>),
    /// `all(list, condition)`
    All(u16, Box<Expr>),
    /// `months(from, to)`: whole months between two dates.
    Months(Box<Expr>, Box<Expr>),
    /// `years(from, to)`: whole years between two dates.
    Years(Box<Expr>, Box<Expr>),
    /// `min(a, b)`
    Min(Box<Expr>, Box<Expr>),
    /// `max(a, b)`
    Max(Box<Expr>, Box<Expr>),
    /// `date(t)`: the calendar date of an instant, in Europe/Rome.
    DateOf(Box<Expr>),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (always exact decimal division, 28 significant digits)
    Div,
}

impl Expr {
    /// True when the expression reads the facility being ranked or its preference rank, so that the
    /// criterion using it must be evaluated once per preferred facility.
    pub fn depends_on_facility(&self) -> bool {
        let mut found = false;
        self.visit(&mut |e| found |= matches!(e, Expr::Facility | Expr::PreferenceRank));
        found
    }

    /// Calls `f` on this node and every node below it.
    pub fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Const(_)
            | Expr::Input(_)
            | Expr::Derived(_)
            | Expr::ItemField { .. }
            | Expr::ItemIndex(_)
            | Expr::Subtotal(_)
            | Expr::Total
            | Expr::Facility
            | Expr::PreferenceRank
            | Expr::Count(_, None) => {}
            Expr::Not(a)
            | Expr::Neg(a)
            | Expr::Present(a)
            | Expr::InSet(a, _)
            | Expr::FacilityCount(a)
            | Expr::Count(_, Some(a))
            | Expr::Sum(_, a)
            | Expr::Any(_, a)
            | Expr::All(_, a)
            | Expr::DateOf(a) => a.visit(f),
            Expr::And(a, b)
            | Expr::Or(a, b)
            | Expr::Cmp(_, a, b)
            | Expr::Arith(_, a, b)
            | Expr::Coalesce(a, b)
            | Expr::InFacilities(a, b)
            | Expr::Months(a, b)
            | Expr::Years(a, b)
            | Expr::Min(a, b)
            | Expr::Max(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::If(a, b, c) => {
                a.visit(f);
                b.visit(f);
                c.visit(f);
            }
        }
    }
}
