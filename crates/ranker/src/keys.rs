//! Sorting one list in the regulation's order ([`Regulation::compare`]) without walking the tie-break
//! chain at every comparison.
//!
//! Each member gets a 128-bit key: its standing's fields in the comparator's order (the group of each
//! tier level, the total, each tie-break step, the protocol), each written as a whole number that grows
//! as the member moves down the list, in as few bits as the list's values need (a column of ISEE values
//! between 0 and 40,000.00 takes 22 bits). Two passes over the members, each reading a member's whole
//! standing at once: the first finds each field's kind, scale and range (the plan), the second writes
//! the keys (reading one column at a time through the standings missed the cache at every value). The list is sorted by key; members whose keys are equal are
//! then put in order by the comparator itself. That is exact as long as the key never contradicts the
//! comparator (a member before another never has a larger key), which holds by construction: a field
//! that does not fit any more is cut to its leading bits, and a step the key cannot express (a direction
//! that changes by section in a list mixing sections, values of mixed kinds, numbers too large) ends
//! the key there. When every field fit, equal keys are complete ties and keep applicant order, as a
//! stable sort would. A property test (`tests/order_keys.rs`) holds the result to the comparator's.

use graduatorie_rules::model::{Order, TieKind};
use graduatorie_rules::{BatchScores, Ordinal, OrdinalKind, Regulation, Standing, Value};

/// The members' indexes (into `standings`, all of one list) in the regulation's order; complete ties
/// keep their index order.
pub(crate) fn order(reg: &Regulation, standings: &[Standing<'_>], seed: Option<&str>) -> Vec<u32> {
    let member = |i: usize| standings.get(i).copied().unwrap_or(NOBODY);
    let standings = Members {
        len: standings.len(),
        get: &member,
        rows: None,
    };
    let (keys, written) = keys(reg, standings, seed);
    let index = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let pairs = keys.into_iter().enumerate().map(|(i, k)| (k, index(i)));
    sort(
        reg,
        standings,
        pairs,
        index(standings.len.saturating_sub(1)),
        written,
        seed,
    )
}

/// One key per standing, under one plan for all of them, and whether equal keys are complete ties.
/// Keys of standings planned together compare as the comparator orders them, within any subset of
/// them that the comparator orders without looking at sections (one list, when no tie-break step
/// changes direction by section). With `rows`, only the standings' tiers, totals in units, sections,
/// protocols and draws are read (tie-break values come from the rows).
pub(crate) fn keys<'a, F>(
    reg: &Regulation,
    standings: Members<'_, F>,
    seed: Option<&str>,
) -> (Vec<u128>, Written)
where
    F: Fn(usize) -> Standing<'a>,
{
    let (fields, complete, free) = plan(reg, standings, seed);
    // With the batch's rows at hand, tie-break fields are written a step at a time from there.
    let by_column = |f: &Field| standings.rows.is_some() && matches!(f.source, Source::Tie(_));
    let mut keys: Vec<u128> = (0..standings.len)
        .map(|i| {
            let m = (standings.get)(i);
            fields
                .iter()
                .filter(|f| !by_column(f))
                .fold(0u128, |k, f| k | ((f.code(&m) >> f.cut) << f.shift))
        })
        .collect();
    for f in &fields {
        if let (Source::Tie(k), Some(rows)) = (f.source, standings.rows) {
            rows.each_tie_ordinal(k, |m, o| {
                if let Some(key) = keys.get_mut(m) {
                    *key |= (f.ordinal(o) >> f.cut) << f.shift;
                }
            });
        }
    }
    (keys, Written { complete, free })
}

/// What [`keys`] tells [`sort`] of the keys it made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Written {
    /// Equal keys are complete ties.
    pub complete: bool,
    /// Low bits every key leaves at zero.
    pub free: u32,
}

/// The members of one list, each standing made when it is read (a list of a million standings
/// held at once took a hundred megabytes, written and read back once).
pub(crate) struct Members<'m, F> {
    /// How many.
    pub len: usize,
    /// The standing of the `i`th.
    pub get: &'m F,
    /// When the members' tie-break values are those of rows of one batch's scores (as their
    /// standings have them), they are read from there a step at a time: reading every step of a
    /// member at once matched the kind of each value.
    pub rows: Option<Rows<'m>>,
}

/// Rows of one batch's scores whose tie-break values are the members': the first members' are those
/// of the applications `apps`, the others' those of the facility rows `rows`
/// ([`BatchScores::facility`]), in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rows<'m> {
    pub scores: &'m BatchScores,
    pub apps: &'m [u32],
    pub rows: &'m [u32],
}

impl Rows<'_> {
    fn each_tie_ordinal(&self, k: usize, mut f: impl FnMut(usize, graduatorie_rules::Ordinal)) {
        self.scores.each_tie_ordinal(k, self.apps, &mut f);
        let first = self.apps.len();
        self.scores
            .each_facility_tie_ordinal(k, self.rows, |m, o| f(first + m, o));
    }
}

impl<F> Clone for Members<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<F> Copy for Members<'_, F> {}

/// A standing for an index out of range (never read: indexes come from the list itself).
const NOBODY: Standing<'static> = Standing {
    tier: &[],
    total: rust_decimal::Decimal::ZERO,
    total_units: None,
    tie_keys: graduatorie_rules::Ties::NONE,
    section: None,
    protocol: None,
    draw: None,
};

/// Sorts `(key, member)` pairs (members index `standings`, none above `widest`; keys from [`keys`])
/// into the regulation's order and returns the members; equal keys are settled by the comparator
/// unless they are complete ties, which keep index order.
pub(crate) fn sort<'a, F>(
    reg: &Regulation,
    standings: Members<'_, F>,
    pairs: impl Iterator<Item = (u128, u32)>,
    widest: u32,
    written: Written,
    seed: Option<&str>,
) -> Vec<u32>
where
    F: Fn(usize) -> Standing<'a>,
{
    // When the members' indexes fit in the bits the keys leave free, each pair is one number, whose
    // order is the pairs' order: half the memory to sort (a pair takes 32 bytes), and the pairs are
    // never held.
    let bits = 32 - widest.leading_zeros();
    // The sorted keys, kept only when equal ones are left for the comparator.
    let kept = |keys: &mut dyn Iterator<Item = u128>| -> Vec<u128> {
        if written.complete {
            Vec::new()
        } else {
            keys.collect()
        }
    };
    let (mut order, sorted): (Vec<u32>, Vec<u128>) = if bits <= written.free {
        let mut packed: Vec<u128> = pairs.map(|(k, i)| k | u128::from(i)).collect();
        packed.sort_unstable();
        let mask = (1u128 << bits) - 1;
        let order = packed.iter().map(|&p| (p & mask) as u32).collect();
        (order, kept(&mut packed.iter().map(|&p| p & !mask)))
    } else {
        let mut pairs: Vec<(u128, u32)> = pairs.collect();
        pairs.sort_unstable();
        let order = pairs.iter().map(|&(_, i)| i).collect();
        (order, kept(&mut pairs.iter().map(|&(k, _)| k)))
    };
    if !written.complete {
        // Members whose keys are equal: the comparator decides (stable, so index order stays for ties).
        let mut start = 0;
        while start < sorted.len() {
            let k = sorted.get(start);
            let len = sorted
                .get(start..)
                .map_or(1, |r| r.iter().take_while(|p| Some(*p) == k).count().max(1));
            if len > 1
                && let Some(run) = order.get_mut(start..start + len)
            {
                run.sort_by(|&a, &b| {
                    reg.compare(&(standings.get)(a as usize), &(standings.get)(b as usize), seed)
                });
            }
            start += len;
        }
    }
    order
}

/// Where a field's value comes from, and how it becomes a whole number.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// The group of a tier level.
    Tier(usize),
    /// The total (numbers at `scale`, from `min`).
    Total,
    /// A tie-break value.
    Tie(usize),
    /// 1 for members without a draw value.
    DrawMissing,
    /// The first (true) or last 16 bytes of the draw value.
    Draw(bool),
    /// The protocol number, missing last.
    Protocol,
}

/// One field of the key.
#[derive(Debug, Clone, Copy)]
struct Field {
    source: Source,
    scale: u32,
    min: i64,
    max: i64,
    desc: bool,
    missing_first: bool,
    any_missing: bool,
    /// Low bits dropped (the field was cut to fit), and where the rest goes.
    cut: u32,
    shift: u32,
}

/// The kind of a column of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Empty,
    Number,
    Other(OrdinalKind),
}

/// What the first pass learns of one column.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// `None` once the column cannot be written (mixed kinds, lists).
    kind: Option<Kind>,
    scale: u32,
    /// Extremes of numbers as whole numbers at `scale`, the most decimals seen so far (rescaled when
    /// a value has more; `None` when they no longer fit): integer comparisons, where comparing the
    /// decimals themselves was a tenth of the ranking's time.
    dec: Option<(i128, i128)>,
    /// Extremes of other values as whole numbers (`None` when one does not fit).
    whole: Option<(i64, i64)>,
    /// Whether a number has been seen.
    numbers: bool,
    any_missing: bool,
}

impl Column {
    fn new() -> Self {
        Column {
            kind: Some(Kind::Empty),
            scale: 0,
            dec: Some((0, 0)),
            whole: Some((i64::MAX, i64::MIN)),
            any_missing: false,
            numbers: false,
        }
    }

    #[inline]
    fn add(&mut self, v: Ordinal) {
        match v {
            Ordinal::Missing => {
                self.admit(Kind::Empty);
            }
            Ordinal::Unordered => self.kind = None,
            Ordinal::Number { units, scale } => {
                if self.admit(Kind::Number) {
                    self.number(i128::from(units), scale);
                }
            }
            Ordinal::Whole { kind, code } => {
                if self.admit(Kind::Other(kind)) {
                    self.whole = self.whole.map(|(lo, hi)| (lo.min(code), hi.max(code)));
                }
            }
        }
    }

    /// Takes a value of kind `k` into the column's kind; false when nothing more is to be learnt from
    /// it (missing, or a kind that makes the column unwritable).
    #[inline]
    fn admit(&mut self, k: Kind) -> bool {
        match (self.kind, k) {
            (_, Kind::Empty) => {
                self.any_missing = true;
                false
            }
            (Some(Kind::Empty), k) => {
                self.kind = Some(k);
                true
            }
            (Some(a), b) if a == b => true,
            _ => {
                self.kind = None;
                false
            }
        }
    }

    /// Takes the number `mantissa × 10^-scale` into the extremes.
    #[inline]
    fn number(&mut self, mantissa: i128, scale: u32) {
        if self.numbers && scale == self.scale {
            // Most numbers of a column have its scale: nothing to rescale.
            if let Some((lo, hi)) = &mut self.dec {
                *lo = (*lo).min(mantissa);
                *hi = (*hi).max(mantissa);
            }
            return;
        }
        let first = !self.numbers;
        self.numbers = true;
        let up = scale.saturating_sub(self.scale);
        self.scale = self.scale.max(scale);
        let units = rescale(mantissa, self.scale - scale);
        self.dec = match (self.dec, units) {
            (_, Some(n)) if first => Some((n, n)),
            (Some((lo, hi)), Some(n)) => match (rescale(lo, up), rescale(hi, up)) {
                (Some(lo), Some(hi)) => Some((lo.min(n), hi.max(n))),
                _ => None,
            },
            _ => None,
        };
    }

    /// The column's range as whole numbers, or `None` when it cannot be written.
    fn range(&self) -> Option<(i64, i64)> {
        match self.kind? {
            Kind::Empty => Some((0, 0)),
            Kind::Number => {
                let (lo, hi) = self.dec?;
                Some((i64::try_from(lo).ok()?, i64::try_from(hi).ok()?))
            }
            _ => self.whole,
        }
    }
}

/// `units` times `10^up`, when it fits.
fn rescale(units: i128, up: u32) -> Option<i128> {
    units.checked_mul(10i128.checked_pow(up)?)
}

/// The fields of the key for these members, and whether equal keys are complete ties.
fn plan<'a, F>(reg: &Regulation, s: Members<'_, F>, seed: Option<&str>) -> (Vec<Field>, bool, u32)
where
    F: Fn(usize) -> Standing<'a>,
{
    let mut plan = Plan {
        fields: Vec::new(),
        used: 0,
    };
    let complete = plan.build(reg, s, seed);
    (plan.fields, complete, 128 - plan.used)
}

struct Plan {
    fields: Vec<Field>,
    used: u32,
}

impl Plan {
    /// Adds a field whose codes go from 0 to `top`. Returns false when it did not fit whole: nothing
    /// may follow it, and equal keys are no longer complete ties.
    fn push(&mut self, mut field: Field, top: u128) -> bool {
        let bits = 128 - top.leading_zeros();
        if bits == 0 {
            return true;
        }
        let room = 128 - self.used;
        let take = bits.min(room);
        if take > 0 {
            field.cut = bits - take;
            field.shift = room - take;
            self.fields.push(field);
            self.used += take;
        }
        take == bits
    }

    /// Pushes the fields in the comparator's order; false when the key ends before the last.
    fn build<'a, F>(&mut self, reg: &Regulation, s: Members<'_, F>, seed: Option<&str>) -> bool
    where
        F: Fn(usize) -> Standing<'a>,
    {
        if s.len == 0 {
            return true;
        }
        let first = (s.get)(0);
        let ties = reg.tie_breaks();
        // First pass: every column at once, one member at a time.
        let levels = first.tier.len();
        let mut groups = vec![0u16; levels];
        let mut total = Column::new();
        let mut columns = vec![Column::new(); ties.len()];
        // Only the columns of value steps are read (a draw or protocol step writes its own fields).
        let valued = |k: usize| ties.get(k).is_some_and(|t| matches!(t.kind, TieKind::Value(_)));
        let mut same_levels = true;
        let mut same_section = true;
        let mut with_draw = 0usize;
        let mut draw_with_protocol = true;
        let mut protocols = (i64::MAX, i64::MIN);
        let mut protocol_missing = false;
        for i in 0..s.len {
            let m = (s.get)(i);
            match m.protocol {
                Some(p) => {
                    let c = protocol_whole(p);
                    protocols = (protocols.0.min(c), protocols.1.max(c));
                }
                None => protocol_missing = true,
            }
            same_levels &= m.tier.len() == levels;
            same_section &= m.section == first.section;
            for (g, t) in groups.iter_mut().zip(m.tier) {
                *g = (*g).max(*t);
            }
            total.add(total_of(&m));
            if s.rows.is_none() {
                for (k, c) in columns.iter_mut().enumerate() {
                    if valued(k) {
                        c.add(m.tie_keys.ordinal(k));
                    }
                }
            }
            with_draw += usize::from(m.draw.is_some());
            draw_with_protocol &= m.draw.is_some() == m.protocol.is_some();
        }
        if let Some(rows) = s.rows {
            for (k, c) in columns.iter_mut().enumerate() {
                if valued(k) {
                    rows.each_tie_ordinal(k, |_, o| c.add(o));
                }
            }
        }
        // Protocol numbers take only the bits their range needs (a million of one year: 20).
        let (min, max) = if protocols.0 > protocols.1 {
            (0, 0)
        } else {
            protocols
        };
        let protocol = Field {
            source: Source::Protocol,
            scale: 0,
            min,
            max,
            desc: false,
            missing_first: false,
            any_missing: protocol_missing,
            cut: 0,
            shift: 0,
        };
        let protocol_top = (i128::from(max) - i128::from(min)) as u128 + u128::from(protocol_missing);
        let base = Field {
            source: Source::Total,
            scale: 0,
            min: 0,
            max: 0,
            desc: false,
            missing_first: false,
            any_missing: false,
            cut: 0,
            shift: 0,
        };
        // Tier slices of different lengths compare by length too: left to the comparator.
        if !same_levels {
            return false;
        }
        for (l, &g) in groups.iter().enumerate() {
            let field = Field {
                source: Source::Tier(l),
                ..base
            };
            if !self.push(field, u128::from(g)) {
                return false;
            }
        }
        if !self.column(base, &total, true, false) {
            return false;
        }
        let mut protocol_step = false;
        for (k, (t, c)) in ties.iter().zip(&columns).enumerate() {
            let order = if t.section_order.is_empty() {
                t.order
            } else if same_section {
                first
                    .section
                    .and_then(|sec| t.section_order.iter().find(|(x, _)| *x == sec))
                    .map_or(t.order, |(_, o)| *o)
            } else {
                // The comparator orders mixed sections first by section here: not in the key.
                return false;
            };
            let desc = order == Order::Desc;
            let field = Field {
                source: Source::Tie(k),
                desc,
                ..base
            };
            let whole = match &t.kind {
                TieKind::Value(_) => self.column(field, c, desc, t.missing_first),
                TieKind::Draw => {
                    // With a seed the comparator computes missing values from the protocol; without
                    // one it ties members lacking a value with everybody: neither can be written.
                    let exact = match seed {
                        Some(_) => draw_with_protocol,
                        None => with_draw == 0 || with_draw == s.len,
                    };
                    if !exact {
                        return false;
                    }
                    with_draw == 0
                        || (self.push(
                            Field {
                                source: Source::DrawMissing,
                                ..field
                            },
                            u128::from(with_draw < s.len),
                        ) && self.push(
                            Field {
                                source: Source::Draw(true),
                                ..field
                            },
                            u128::MAX,
                        ) && self.push(
                            Field {
                                source: Source::Draw(false),
                                ..field
                            },
                            u128::MAX,
                        ))
                }
                TieKind::Protocol => {
                    protocol_step = true;
                    self.push(Field { desc, ..protocol }, protocol_top)
                }
            };
            if !whole {
                return false;
            }
        }
        // Protocol numbers are distinct: once written in either direction, nothing is left for the
        // last resort to decide (and the key keeps room for the member's index, see [`sort`]).
        protocol_step || self.push(protocol, protocol_top)
    }

    /// A column of values as a field; false when it cannot be written or did not fit.
    fn column(&mut self, mut field: Field, c: &Column, desc: bool, missing_first: bool) -> bool {
        let Some((min, max)) = c.range() else {
            return false;
        };
        field.scale = c.scale;
        field.min = min;
        field.max = max;
        field.desc = desc;
        field.missing_first = missing_first;
        field.any_missing = c.any_missing;
        let range = (i128::from(max) - i128::from(min)) as u128;
        self.push(field, if c.any_missing { range + 1 } else { range })
    }
}

/// A standing's total as a whole number: from the units of a batch, without making a decimal.
fn total_of(m: &Standing<'_>) -> Ordinal {
    match m.total_units {
        Some((units, scale)) => Ordinal::Number { units, scale },
        None => Value::Dec(m.total).ordinal(),
    }
}

/// A protocol number as a whole number in its order (year, then number).
fn protocol_whole(p: graduatorie_domain::ProtocolNumber) -> i64 {
    (i64::from(p.year()) << 32) | i64::from(p.number())
}

impl Field {
    /// The field's code for one member: smaller codes come first.
    fn code(&self, m: &Standing<'_>) -> u128 {
        match self.source {
            Source::Tier(l) => u128::from(m.tier.get(l).copied().unwrap_or(0)),
            Source::Total => self.ordinal(total_of(m)),
            Source::Tie(k) => self.ordinal(m.tie_keys.ordinal(k)),
            Source::DrawMissing => u128::from(m.draw.is_none()),
            Source::Draw(high) => {
                let Some(d) = m.draw else { return 0 };
                let mut b = [0u8; 16];
                let part = if high { d.get(..16) } else { d.get(16..) };
                for (x, y) in b.iter_mut().zip(part.unwrap_or(&[])) {
                    *x = *y;
                }
                let n = u128::from_be_bytes(b);
                if self.desc { !n } else { n }
            }
            // Missing numbers last, or first when the order is reversed (as the comparator has them).
            Source::Protocol => {
                let range = (i128::from(self.max) - i128::from(self.min)) as u128;
                match (m.protocol.map(protocol_whole), self.desc) {
                    (Some(c), false) => (i128::from(c) - i128::from(self.min)) as u128,
                    (Some(c), true) => {
                        (i128::from(self.max) - i128::from(c)) as u128 + u128::from(self.any_missing)
                    }
                    (None, false) => range + 1,
                    (None, true) => 0,
                }
            }
        }
    }

    #[inline]
    fn ordinal(&self, v: Ordinal) -> u128 {
        match v {
            Ordinal::Number { units, scale } => self.number(Some(units), scale),
            Ordinal::Whole { code, .. } => self.offset(Some(code)),
            // Never written: a column holding such a value ends the key.
            Ordinal::Missing | Ordinal::Unordered => self.offset(None),
        }
    }

    /// The code of the number `units × 10^-scale` (`None`: missing).
    #[inline]
    fn number(&self, units: Option<i64>, scale: u32) -> u128 {
        let up = self.scale.checked_sub(scale);
        self.offset(units.and_then(|u| u.checked_mul(10i64.checked_pow(up?)?)))
    }

    /// The code of a present value written as a whole number at the field's scale, or of a missing one.
    #[inline]
    fn offset(&self, n: Option<i64>) -> u128 {
        let range = (i128::from(self.max) - i128::from(self.min)) as u128;
        match n {
            None => {
                if self.missing_first {
                    0
                } else {
                    range + 1
                }
            }
            Some(n) => {
                let offset = if self.desc {
                    (i128::from(self.max) - i128::from(n)) as u128
                } else {
                    (i128::from(n) - i128::from(self.min)) as u128
                };
                offset + u128::from(self.missing_first && self.any_missing)
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    /// Pairs sort by key, then by member, whether the members fit in the bits the keys leave free
    /// (packed with them) or not: a member must never be packed over a key's own bits.
    #[test]
    fn pairs_sort_by_key_then_member_packed_or_not() {
        let reg = graduatorie_rules::compile_str(
            "t.toml",
            "[regulation]\nid = \"t\"\ntitle = \"T\"\nservice = \"nido\"\nschool_year = \"2026/2027\"\n\
             authority = \"C\"\nsource = \"D\"\nreference_date = 2026-12-31\n",
        )
        .unwrap();
        let member = |_: usize| NOBODY;
        let members = Members {
            len: 4,
            get: &member,
            rows: None,
        };
        let complete = |free| Written { complete: true, free };
        // Keys using every bit: the members 0..3 need two bits, which are not free.
        let full = vec![(3u128, 0u32), (1, 1), (2, 2), (1, 3)];
        assert_eq!(
            sort(&reg, members, full.into_iter(), 3, complete(0), None),
            [1, 3, 2, 0]
        );
        // The same order with keys leaving two bits free.
        let roomy = vec![(12u128, 0u32), (4, 1), (8, 2), (4, 3)];
        assert_eq!(
            sort(&reg, members, roomy.clone().into_iter(), 3, complete(2), None),
            [1, 3, 2, 0]
        );
        assert_eq!(
            sort(&reg, members, roomy.into_iter(), 3, complete(1), None),
            [1, 3, 2, 0]
        );
    }
}
