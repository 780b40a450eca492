//! The scores of a batch of applications ([`BatchScores`]), kept as compactly as they allow.
//!
//! A million applications scored by a regulation of nine criteria and six tie-break steps took 250 MB
//! when every point was eight bytes and every tie-break value a 24-byte [`Value`]; writing that memory
//! for the first time was a fifth of scoring. Now points are whole numbers in the narrowest width that
//! holds every one of them ([`Units`]); a tie-break step that reads a subtotal or the total keeps
//! nothing of its own (it reads them back), a draw or protocol step keeps nothing (the ranking has the
//! protocol), and any other step keeps its values in a compact column (a byte per yes/no, four bytes
//! per date, eight per amount of money). Reading gives back exactly what scoring computed.

use rust_decimal::Decimal;

use crate::column::Column;
use crate::evaluate::{Eligibility, Evaluation, EvaluationError};
use crate::expr::Expr;
use crate::expr::eval::EvalError;
use crate::lane::Lane;
use crate::model::{Regulation, TieKind};
use crate::value::{Ordinal, Value, from_units, whole_units};

pub use graduatorie_domain::digits::push_digits;

/// Scores of a batch of applications, one row per application (and per preferred facility).
#[derive(Debug, Clone, Default)]
pub struct BatchScores {
    /// Number of applications.
    pub len: usize,
    levels: usize,
    n_criteria: usize,
    n_subtotals: usize,
    /// Excluded by an eligibility rule.
    pub excluded: Vec<bool>,
    /// Admitted *con riserva*.
    pub reserve: Vec<bool>,
    /// Age section.
    pub section: Vec<Option<u16>>,
    /// The neighbouring section whose spare seats the child may take (border ages).
    pub border: Vec<Option<u16>>,
    pub(crate) tier: Vec<u16>,
    /// Decimals of points: a point value `p` stands for `p × 10^-scale`.
    scale: u32,
    pub(crate) points: Units,
    pub(crate) subtotals: Vec<i64>,
    /// Total of the criteria that do not depend on the facility (in units of `10^-scale`).
    pub total: Vec<i64>,
    pub(crate) ties: TieColumns,
    pub(crate) facility_start: Vec<u32>,
    /// Per preferred facility: (facility, rank, total).
    pub(crate) facilities: Vec<(u32, u32, i64)>,
    /// Per preferred facility: the application.
    pub(crate) facility_app: Vec<u32>,
    /// Per criterion: its place among the criteria that depend on the facility (`NOT_PER_FACILITY`
    /// for the others, whose points are the application's at every facility).
    pub(crate) facility_slots: Vec<u16>,
    /// Points of the criteria that depend on the facility, `facility_slots` of them per facility row
    /// (a million applications with eight preferences and ten criteria held 80 million numbers here,
    /// nine tenths of them copies of the application's).
    pub(crate) facility_points: Units,
    pub(crate) facility_subtotals: Vec<i64>,
    pub(crate) facility_ties: TieColumns,
}

/// [`BatchScores::facility_slots`] of a criterion that does not depend on the facility.
pub(crate) const NOT_PER_FACILITY: u16 = u16::MAX;

/// The largest number of points a batch holds (any criterion, subtotal or total): `i64::MAX` units of
/// `10^-points_decimals`, about 9.2 × 10^18 / 10^decimals.
pub(crate) fn to_units(d: Decimal, scale: u32) -> Result<i64, EvalError> {
    whole_units(d, scale).ok_or(EvalError::Overflow)
}

/// One row of a facility's list: the preferred facility, its rank among the preferences and the scores
/// there.
#[derive(Debug, Clone, Copy)]
pub struct FacilityRow<'a> {
    /// Index of the facility.
    pub facility: u32,
    /// Its place among the application's preferences (1 for the first).
    pub rank: u32,
    /// Total at this facility, in units of `10^-points_scale()`.
    pub total: i64,
    /// Points per criterion at this facility.
    pub points: Points<'a>,
    /// Subtotals at this facility.
    pub subtotals: &'a [i64],
    /// Tie-break values at this facility.
    pub ties: Ties<'a>,
}

impl BatchScores {
    /// Group per tier level of application `i`.
    pub fn tier(&self, i: usize) -> &[u16] {
        self.tier
            .get(i * self.levels..(i + 1) * self.levels)
            .unwrap_or(&[])
    }
    /// Decimals of every point value: `p` points in this batch are `p × 10^-points_scale()`.
    pub fn points_scale(&self) -> u32 {
        self.scale
    }
    /// A point value of this batch as a decimal (normalized: no trailing zeros).
    pub fn decimal(&self, points: i64) -> Decimal {
        from_units(points, self.scale)
    }
    /// Appends a point value of this batch as text, exactly as [`BatchScores::decimal`] displays
    /// (`-12.5`, `0.05`, `20`), without going through a decimal: rankings print millions of them.
    pub fn write_points(&self, points: i64, out: &mut String) {
        let one = 10u64.pow(self.scale);
        if points < 0 {
            out.push('-');
        }
        let magnitude = points.unsigned_abs();
        push_digits(magnitude / one, 1, out);
        let mut fraction = magnitude % one;
        if fraction != 0 {
            let mut width = self.scale;
            while fraction.is_multiple_of(10) {
                fraction /= 10;
                width -= 1;
            }
            out.push('.');
            push_digits(fraction, width, out);
        }
    }
    /// Points per criterion of application `i` (zero for criteria that depend on the facility).
    pub fn points(&self, i: usize) -> Points<'_> {
        Points::row(&self.points, i, self.n_criteria)
    }
    /// Subtotals of application `i`.
    pub fn subtotals(&self, i: usize) -> &[i64] {
        self.subtotals
            .get(i * self.n_subtotals..(i + 1) * self.n_subtotals)
            .unwrap_or(&[])
    }
    /// Tie-break values of application `i`.
    pub fn tie_keys(&self, i: usize) -> Ties<'_> {
        Ties(TiesOf::Scored {
            columns: &self.ties,
            row: i,
            subtotals: self.subtotals(i),
            total: self.total.get(i).copied().unwrap_or_default(),
            scale: self.scale,
            applicant: None,
        })
    }
    /// `f(m, ordinal)` for tie-break step `k` of each application `rows[m]`, in order: what
    /// [`Ties::ordinal`] of its [`BatchScores::tie_keys`] gives, read column by column with the step's
    /// kind matched once (matched at every value, it was most of making the ranking's keys).
    pub fn each_tie_ordinal(&self, k: usize, rows: &[u32], mut f: impl FnMut(usize, Ordinal)) {
        match self.ties.steps.get(k) {
            Some(Step::Values(c)) => c.each_ordinal(rows, f),
            step => {
                for (m, &r) in rows.iter().enumerate() {
                    let r = r as usize;
                    let total = self.total.get(r).copied().unwrap_or_default();
                    f(m, Step::ordinal(step, r, self.subtotals(r), total, self.scale));
                }
            }
        }
    }
    /// `f(m, ordinal)` for tie-break step `k` of each facility row `rows[m]`, in order: what
    /// [`Ties::ordinal`] of its [`BatchScores::facility`]'s `ties` gives, read column by column as
    /// [`BatchScores::each_tie_ordinal`] reads the applications'.
    pub fn each_facility_tie_ordinal(&self, k: usize, rows: &[u32], mut f: impl FnMut(usize, Ordinal)) {
        match self.facility_ties.steps.get(k) {
            Some(Step::Values(c)) => c.each_ordinal(rows, f),
            Some(Step::Applicant) => {
                // The application's values, read a block of rows at a time.
                const BLOCK: usize = 4096;
                let mut apps = Vec::with_capacity(rows.len().min(BLOCK));
                for (b, block) in rows.chunks(BLOCK).enumerate() {
                    apps.clear();
                    apps.extend(
                        block
                            .iter()
                            .map(|&r| self.facility_app.get(r as usize).copied().unwrap_or(u32::MAX)),
                    );
                    self.each_tie_ordinal(k, &apps, |m, o| f(b * BLOCK + m, o));
                }
            }
            step => {
                for (m, &r) in rows.iter().enumerate() {
                    let r = r as usize;
                    let (subtotals, total) = (self.facility_subtotals_of(r), self.facility_total(r));
                    f(m, Step::ordinal(step, r, subtotals, total, self.scale));
                }
            }
        }
    }
    /// Rows of application `i` per preferred facility: indexes for [`BatchScores::facility`].
    pub fn facility_rows(&self, i: usize) -> std::ops::Range<usize> {
        let start = self.facility_start.get(i).copied().unwrap_or(0) as usize;
        let end = self
            .facility_start
            .get(i + 1)
            .copied()
            .map_or(start, |e| e as usize);
        start..end
    }
    /// Facility, rank and scores of a facility row.
    pub fn facility(&self, row: usize) -> FacilityRow<'_> {
        let (facility, rank, total) = self.facilities.get(row).copied().unwrap_or((0, 0, 0));
        let subtotals = self.facility_subtotals_of(row);
        let app = self.facility_app.get(row).map_or(usize::MAX, |&a| a as usize);
        let width = self.per_facility_criteria();
        let mut points = Points::row(&self.points, app, self.n_criteria);
        if (row + 1) * width <= self.facility_points.len() {
            points.at_facility = Some((&self.facility_points, row * width, &self.facility_slots));
        }
        FacilityRow {
            facility,
            rank,
            total,
            points,
            subtotals,
            ties: Ties(TiesOf::Scored {
                columns: &self.facility_ties,
                row,
                subtotals,
                total,
                scale: self.scale,
                applicant: Some((&self.ties, app)),
            }),
        }
    }

    /// The facility of a facility row ([`BatchScores::facility`]'s `facility`), read alone.
    pub fn facility_of(&self, row: usize) -> Option<u32> {
        self.facilities.get(row).map(|&(f, _, _)| f)
    }

    /// Whether facility row `row` ranks exactly as its application does ([`BatchScores::total`] and
    /// [`BatchScores::tie_keys`]): the same total and the same value at every tie-break step, which
    /// with the application's own tier, section, protocol and draw is all a ranking compares. Most
    /// rows do (those the facility gives no points): a list of them is in the applications' order.
    pub fn facility_row_ranks_as_application(&self, row: usize) -> bool {
        let Some(a) = self.facility_app.get(row).map(|&a| a as usize) else {
            return false;
        };
        let (total, app_total) = (
            self.facility_total(row),
            self.total.get(a).copied().unwrap_or_default(),
        );
        if total != app_total {
            return false;
        }
        let (subtotals, app_subtotals) = (self.facility_subtotals_of(row), self.subtotals(a));
        self.facility_ties
            .steps
            .iter()
            .zip(&self.ties.steps)
            .all(|(at_facility, own)| match at_facility {
                Step::Nothing | Step::Applicant => true,
                _ => {
                    Step::ordinal(Some(at_facility), row, subtotals, total, self.scale)
                        == Step::ordinal(Some(own), a, app_subtotals, app_total, self.scale)
                }
            })
    }

    /// The total of a facility row ([`BatchScores::facility`]'s `total`), read alone.
    pub fn facility_total(&self, row: usize) -> i64 {
        self.facilities.get(row).map_or(0, |&(_, _, t)| t)
    }

    /// The subtotals of a facility row.
    fn facility_subtotals_of(&self, row: usize) -> &[i64] {
        let k = self.n_subtotals;
        self.facility_subtotals.get(row * k..(row + 1) * k).unwrap_or(&[])
    }

    /// How many criteria depend on the facility (the width of a facility row's points).
    pub(crate) fn per_facility_criteria(&self) -> usize {
        self.facility_slots
            .iter()
            .filter(|&&s| s != NOT_PER_FACILITY)
            .count()
    }

    /// Appends the scores of the applications that follow (scored by the same regulation, e.g. by
    /// [`Regulation::score_batch_range`]).
    pub fn append(&mut self, next: &BatchScores) {
        let shift = u32::try_from(self.facilities.len()).unwrap_or(u32::MAX);
        let first = u32::try_from(self.len).unwrap_or(u32::MAX);
        self.facility_app
            .extend(next.facility_app.iter().map(|&a| a.saturating_add(first)));
        self.len += next.len;
        self.excluded.extend_from_slice(&next.excluded);
        self.reserve.extend_from_slice(&next.reserve);
        self.section.extend_from_slice(&next.section);
        self.border.extend_from_slice(&next.border);
        self.tier.extend_from_slice(&next.tier);
        self.points.append(&next.points);
        self.subtotals.extend_from_slice(&next.subtotals);
        self.total.extend_from_slice(&next.total);
        self.ties.append(&next.ties);
        // Each part starts its facility rows at 0 (its first entry).
        self.facility_start.extend(
            next.facility_start
                .iter()
                .skip(1)
                .map(|&s| s.saturating_add(shift)),
        );
        self.facilities.extend_from_slice(&next.facilities);
        self.facility_points.append(&next.facility_points);
        self.facility_subtotals
            .extend_from_slice(&next.facility_subtotals);
        self.facility_ties.append(&next.facility_ties);
    }

    /// The scores of applications evaluated one by one (by [`Regulation::evaluate`]). Fails, naming
    /// the application, only when points exceed what a batch holds ([`BatchScores::decimal`]).
    pub fn from_evaluations(
        reg: &Regulation,
        evaluations: &[Evaluation],
    ) -> Result<Self, (usize, EvaluationError)> {
        let rows = evaluations.iter().map(|e| e.facilities.len()).sum();
        let mut out = BatchScores::with_capacity(reg, evaluations.len(), rows);
        for (i, ev) in evaluations.iter().enumerate() {
            out.push_row(reg, ev).map_err(|e| (i, e))?;
        }
        Ok(out)
    }

    /// No scores yet, with room for `n` applications and `rows` facility rows.
    pub(crate) fn with_capacity(reg: &Regulation, n: usize, rows: usize) -> Self {
        let mut slots = 0u16;
        let facility_slots = reg
            .criteria
            .iter()
            .map(|c| {
                if c.per_facility {
                    slots += 1;
                    slots - 1
                } else {
                    NOT_PER_FACILITY
                }
            })
            .collect();
        let mut out = BatchScores {
            facility_slots,
            levels: reg.tiers.len(),
            n_criteria: reg.criteria.len(),
            n_subtotals: reg.subtotals.len(),
            scale: reg.points_decimals,
            facility_start: vec![0],
            ties: TieColumns::new(reg, n),
            facility_ties: TieColumns::for_facilities(reg, rows),
            ..BatchScores::default()
        };
        out.facilities.reserve(rows);
        out.facility_app.reserve(rows);
        out.facility_points.reserve(rows * usize::from(slots));
        out.facility_subtotals.reserve(rows * reg.subtotals.len());
        out.excluded.reserve(n);
        out.reserve.reserve(n);
        out.section.reserve(n);
        out.border.reserve(n);
        out.tier.reserve(n * reg.tiers.len());
        out.points.reserve(n * reg.criteria.len());
        out.subtotals.reserve(n * reg.subtotals.len());
        out.total.reserve(n);
        out.facility_start.reserve(n);
        out
    }

    /// Appends one evaluated application; on error (points too large) nothing is appended.
    pub(crate) fn push_row(&mut self, reg: &Regulation, ev: &Evaluation) -> Result<(), EvaluationError> {
        let scale = self.scale;
        let units = |d: Decimal| {
            to_units(d, scale).map_err(|error| EvaluationError {
                what: "punteggio".to_owned(),
                error,
            })
        };
        let row_points = |criteria: &[crate::evaluate::CriterionResult]| {
            let mut points = vec![0i64; reg.criteria.len()];
            for r in criteria {
                if let Some(p) = points.get_mut(usize::from(r.criterion)) {
                    *p = units(r.points)?;
                }
            }
            Ok::<_, EvaluationError>(points)
        };
        // Exactly `k` subtotals per row whatever the evaluation holds, so rows never shift.
        let k = self.n_subtotals;
        let units_of = |ds: &[Decimal]| {
            (0..k)
                .map(|s| units(ds.get(s).copied().unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()
        };
        // Everything converted first, so that a failure leaves the batch as it was.
        let points = row_points(&ev.criteria)?;
        let subtotals = units_of(&ev.subtotals)?;
        let total = units(ev.total)?;
        let mut facilities = Vec::with_capacity(ev.facilities.len());
        for f in &ev.facilities {
            let all = row_points(&f.criteria)?;
            let points: Vec<i64> = all
                .iter()
                .zip(&self.facility_slots)
                .filter(|&(_, &slot)| slot != NOT_PER_FACILITY)
                .map(|(&p, _)| p)
                .collect();
            facilities.push((
                (f.facility, f.rank, units(f.total)?),
                points,
                units_of(&f.subtotals)?,
            ));
        }
        let app = u32::try_from(self.len).unwrap_or(u32::MAX);
        self.len += 1;
        self.excluded
            .push(matches!(ev.eligibility, Eligibility::Excluded(_)));
        self.reserve
            .push(matches!(ev.eligibility, Eligibility::Reserve(_)));
        self.section.push(ev.section);
        self.border.push(ev.border);
        self.tier
            .extend((0..self.levels).map(|l| ev.tier.get(l).copied().unwrap_or(0)));
        self.points.extend(&points);
        self.subtotals.extend_from_slice(&subtotals);
        self.total.push(total);
        self.ties.push_row(&ev.tie_keys);
        for ((row, points, subtotals), f) in facilities.into_iter().zip(&ev.facilities) {
            self.facilities.push(row);
            self.facility_app.push(app);
            self.facility_points.extend(&points);
            self.facility_subtotals.extend_from_slice(&subtotals);
            self.facility_ties.push_row(&f.tie_keys);
        }
        self.facility_start
            .push(u32::try_from(self.facilities.len()).unwrap_or(u32::MAX));
        Ok(())
    }
}

/// Whole numbers (points in units of `10^-points_decimals`) stored in the narrowest width that holds
/// every one of them: two bytes for the points of nearly every regulation, widened (once, copying)
/// when a larger one comes.
#[derive(Debug, Clone)]
pub(crate) enum Units {
    Narrow(Vec<i16>),
    Half(Vec<i32>),
    Wide(Vec<i64>),
}

impl Default for Units {
    fn default() -> Self {
        Units::Narrow(Vec::new())
    }
}

impl Units {
    fn len(&self) -> usize {
        match self {
            Units::Narrow(v) => v.len(),
            Units::Half(v) => v.len(),
            Units::Wide(v) => v.len(),
        }
    }

    fn reserve(&mut self, n: usize) {
        match self {
            Units::Narrow(v) => v.reserve(n),
            Units::Half(v) => v.reserve(n),
            Units::Wide(v) => v.reserve(n),
        }
    }

    /// Value `i` (zero beyond the end).
    #[inline]
    pub(crate) fn get(&self, i: usize) -> i64 {
        match self {
            Units::Narrow(v) => v.get(i).map_or(0, |&x| i64::from(x)),
            Units::Half(v) => v.get(i).map_or(0, |&x| i64::from(x)),
            Units::Wide(v) => v.get(i).copied().unwrap_or(0),
        }
    }

    /// Makes room for values from `lo` to `hi`, widening what is stored when they need it.
    fn widen_for(&mut self, lo: i64, hi: i64) {
        let fits = |min: i64, max: i64| lo >= min && hi <= max;
        let half = fits(i16::MIN.into(), i16::MAX.into());
        let wide = !fits(i32::MIN.into(), i32::MAX.into());
        *self = match self {
            Units::Narrow(v) if wide => Units::Wide(widened(v, v.capacity())),
            Units::Narrow(v) if !half => Units::Half(widened(v, v.capacity())),
            Units::Half(v) if wide => Units::Wide(widened(v, v.capacity())),
            _ => return,
        };
    }

    /// Appends `values`.
    pub(crate) fn extend(&mut self, values: &[i64]) {
        // Nearly always every value fits in two bytes: that is checked with additions and masks
        // alone, which run over many values at once (a running minimum and maximum branch at every
        // value).
        let outside = values
            .iter()
            .fold(0u64, |acc, &x| acc | (x.wrapping_add(32_768) as u64 & !0xffff));
        if outside != 0 {
            let lo = values.iter().copied().min().unwrap_or(0);
            let hi = values.iter().copied().max().unwrap_or(0);
            self.widen_for(lo, hi);
        }
        // After widening every value fits, so the casts are exact (and, unlike a checked
        // conversion, run over many values at once).
        match self {
            Units::Narrow(v) => v.extend(values.iter().map(|&x| x as i16)),
            Units::Half(v) => v.extend(values.iter().map(|&x| x as i32)),
            Units::Wide(v) => v.extend_from_slice(values),
        }
    }

    /// Appends what `other` holds.
    fn append(&mut self, other: &Units) {
        match other {
            Units::Wide(v) => self.extend(v),
            _ => {
                let mut part = Vec::with_capacity(4096.min(other.len()));
                for start in (0..other.len()).step_by(4096) {
                    part.clear();
                    part.extend((start..(start + 4096).min(other.len())).map(|i| other.get(i)));
                    self.extend(&part);
                }
            }
        }
    }
}

/// `v` in a wider type, with room for `capacity` values (what was reserved for the batch).
fn widened<T: Copy, U: From<T>>(v: &[T], capacity: usize) -> Vec<U> {
    let mut w = Vec::with_capacity(capacity.max(v.len()));
    w.extend(v.iter().map(|&x| U::from(x)));
    w
}

/// The points per criterion of one row, in criterion order.
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    units: &'a Units,
    start: usize,
    next: usize,
    end: usize,
    /// At a facility: the facility row's points (from this start) of the criteria that depend on
    /// the facility, and each criterion's place among them.
    at_facility: Option<(&'a Units, usize, &'a [u16])>,
}

impl<'a> Points<'a> {
    fn row(units: &'a Units, row: usize, width: usize) -> Self {
        let (start, end) = (row * width, (row + 1) * width);
        let (start, end) = if end <= units.len() { (start, end) } else { (0, 0) };
        Points {
            units,
            start,
            next: start,
            end,
            at_facility: None,
        }
    }

    /// Points of criterion `c` (zero beyond the last), wherever the iteration is.
    pub fn get(&self, c: usize) -> i64 {
        if c >= self.end - self.start {
            return 0;
        }
        if let Some((units, start, slots)) = self.at_facility
            && let Some(&slot) = slots.get(c)
            && slot != NOT_PER_FACILITY
        {
            return units.get(start + usize::from(slot));
        }
        self.units.get(self.start + c)
    }
}

impl Iterator for Points<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        (self.next < self.end).then(|| {
            self.next += 1;
            self.get(self.next - 1 - self.start)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Points<'_> {}

/// Where the values of one tie-break step are kept.
#[derive(Debug, Clone)]
enum Step {
    /// A draw or the protocol number: nothing to keep.
    Nothing,
    /// The step compares this subtotal: read from the subtotals.
    Subtotal(u16),
    /// The step compares the total.
    Total,
    /// Any other expression: its values.
    Values(Column),
    /// At a facility, an expression whose value is the same at every facility: the application's
    /// values are read.
    Applicant,
}

impl Step {
    /// The ordinal of row `row` at this step (`None`: beyond the chain), whose subtotals and total
    /// are given in units of `10^-scale`.
    #[inline]
    fn ordinal(step: Option<&Step>, row: usize, subtotals: &[i64], total: i64, scale: u32) -> Ordinal {
        match step {
            Some(Step::Values(c)) => c.ordinal(row),
            Some(Step::Subtotal(s)) => subtotals
                .get(usize::from(*s))
                .map_or(Ordinal::Missing, |&units| Ordinal::Number { units, scale }),
            Some(Step::Total) => Ordinal::Number { units: total, scale },
            Some(Step::Nothing | Step::Applicant) | None => Ordinal::Missing,
        }
    }
}

/// The tie-break values of a batch, step by step (see the module documentation).
#[derive(Debug, Clone, Default)]
pub(crate) struct TieColumns {
    steps: Vec<Step>,
}

impl TieColumns {
    /// Empty columns for the regulation's tie-break chain, with room for `n` rows.
    pub(crate) fn new(reg: &Regulation, n: usize) -> Self {
        let steps = reg
            .tie_breaks
            .iter()
            .map(|t| match &t.kind {
                TieKind::Draw | TieKind::Protocol => Step::Nothing,
                TieKind::Value(Expr::Subtotal(s)) => Step::Subtotal(*s),
                TieKind::Value(Expr::Total) => Step::Total,
                TieKind::Value(_) => Step::Values(Column::new(0, n)),
            })
            .collect();
        TieColumns { steps }
    }

    /// Empty columns of facility rows, with room for `n`: a step whose value cannot differ by facility
    /// (no `facility`, preference rank, subtotal or total in it) is read from the application's.
    pub(crate) fn for_facilities(reg: &Regulation, n: usize) -> Self {
        let mut columns = TieColumns::new(reg, n);
        for (step, t) in columns.steps.iter_mut().zip(&reg.tie_breaks) {
            if let (Step::Values(_), TieKind::Value(e)) = (&step, &t.kind) {
                let mut varies = false;
                e.visit(&mut |x| {
                    varies |= matches!(
                        x,
                        Expr::Facility | Expr::PreferenceRank | Expr::Subtotal(_) | Expr::Total
                    );
                });
                if !varies {
                    *step = Step::Applicant;
                }
            }
        }
        columns
    }

    /// Whether step `k`'s values are kept here (and must be computed when scoring).
    pub(crate) fn keeps(&self, k: usize) -> bool {
        matches!(self.steps.get(k), Some(Step::Values(_)))
    }

    /// Appends the values of one row, one per step (missing where `values` ends).
    fn push_row(&mut self, values: &[Value]) {
        for (k, step) in self.steps.iter_mut().enumerate() {
            if let Step::Values(c) = step {
                c.push(values.get(k).copied().unwrap_or(Value::Missing));
            }
        }
    }

    /// Appends the values of step `k` for the rows that follow.
    pub(crate) fn push_lane(&mut self, k: usize, values: &Lane) {
        if let Some(Step::Values(c)) = self.steps.get_mut(k) {
            c.push_lane(values);
        }
    }

    /// Appends the rows of `other` (columns of the same regulation), code by code where the kinds
    /// agree.
    fn append(&mut self, other: &TieColumns) {
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            if let (Step::Values(c), Step::Values(more)) = (mine, theirs) {
                c.append(more);
            }
        }
    }
}

/// The tie-break values of one application in one list, read step by step.
#[derive(Debug, Clone, Copy)]
pub struct Ties<'a>(TiesOf<'a>);

#[derive(Debug, Clone, Copy)]
enum TiesOf<'a> {
    /// One value per step (a draw or protocol step: missing).
    Listed(&'a [Value]),
    /// Row `row` of a batch's columns, with the row's subtotals and total.
    Scored {
        columns: &'a TieColumns,
        row: usize,
        subtotals: &'a [i64],
        total: i64,
        scale: u32,
        /// At a facility: the application's columns and row, for the steps read from there.
        applicant: Option<(&'a TieColumns, usize)>,
    },
}

impl<'a> Ties<'a> {
    /// No values: every step is missing.
    pub const NONE: Ties<'static> = Ties(TiesOf::Listed(&[]));

    /// Values given one per step, as an [`Evaluation`] holds them.
    pub fn listed(values: &'a [Value]) -> Self {
        Ties(TiesOf::Listed(values))
    }

    /// Step `k`'s value as [`Value::ordinal`] gives it (missing for a draw or protocol step, or
    /// beyond the chain), read from the scores or the stored column without making the value: the
    /// ranking's keys are made from these (making a decimal, or a checked date, and reading it back as
    /// a whole number was a fifth of ranking a million).
    #[inline]
    pub fn ordinal(&self, k: usize) -> Ordinal {
        match self.0 {
            TiesOf::Listed(values) => values.get(k).map_or(Ordinal::Missing, |v| v.ordinal()),
            TiesOf::Scored {
                columns,
                row,
                subtotals,
                total,
                scale,
                applicant,
            } => match (columns.steps.get(k), applicant) {
                (Some(Step::Applicant), Some((columns, row))) => {
                    Step::ordinal(columns.steps.get(k), row, subtotals, total, scale)
                }
                (step, _) => Step::ordinal(step, row, subtotals, total, scale),
            },
        }
    }

    /// The value of step `k` (missing for a draw or protocol step, or beyond the chain).
    #[inline]
    pub fn get(&self, k: usize) -> Value {
        match self.0 {
            TiesOf::Listed(values) => values.get(k).copied().unwrap_or(Value::Missing),
            TiesOf::Scored {
                columns,
                row,
                subtotals,
                total,
                scale,
                applicant,
            } => match columns.steps.get(k) {
                Some(Step::Values(c)) => c.get(row),
                Some(Step::Applicant) => match applicant.and_then(|(c, a)| Some((c.steps.get(k)?, a))) {
                    Some((Step::Values(c), a)) => c.get(a),
                    _ => Value::Missing,
                },
                // As the scoring reads a subtotal or the total: a decimal without trailing zeros.
                Some(Step::Subtotal(s)) => subtotals
                    .get(usize::from(*s))
                    .map_or(Value::Missing, |&u| Value::Dec(from_units(u, scale))),
                Some(Step::Total) => Value::Dec(from_units(total, scale)),
                Some(Step::Nothing) | None => Value::Missing,
            },
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    /// Whatever whole numbers are appended, in parts of any size, read back as they were, one by one
    /// and by rows; the width grows only as far as the values need.
    #[test]
    fn units_read_back_whatever_their_width() {
        let parts: [&[i64]; 5] = [
            &[0, 15, -20, 32_767, -32_768],
            &[],
            &[40_000, 7],
            &[-2_147_483_648, 2_147_483_647],
            &[i64::MAX, i64::MIN, 3],
        ];
        let widths = ["Narrow", "Narrow", "Half", "Half", "Wide"];
        let mut all = Vec::new();
        let mut u = Units::default();
        for (part, width) in parts.iter().zip(widths) {
            u.extend(part);
            all.extend_from_slice(part);
            assert!(format!("{u:?}").starts_with(width), "{u:?}");
            assert_eq!(u.len(), all.len());
            assert_eq!((0..all.len()).map(|i| u.get(i)).collect::<Vec<_>>(), all);
        }
        assert_eq!(u.get(all.len()), 0);
        // Just past two bytes, on either side, and past four.
        for (x, width) in [
            (32_768, "Half"),
            (-32_769, "Half"),
            (2_147_483_648, "Wide"),
            (-2_147_483_649, "Wide"),
        ] {
            let mut one = Units::default();
            one.extend(&[1, x, 2]);
            assert!(format!("{one:?}").starts_with(width), "{x}: {one:?}");
            assert_eq!([one.get(0), one.get(1), one.get(2)], [1, x, 2]);
        }
        // Appending in any width gives the same values.
        for split in 0..=all.len() {
            let (mut a, mut b) = (Units::default(), Units::default());
            a.extend(&all[..split]);
            b.extend(&all[split..]);
            a.append(&b);
            assert_eq!(
                (0..all.len()).map(|i| a.get(i)).collect::<Vec<_>>(),
                all,
                "{split}"
            );
        }
        // Rows of three: the last, incomplete row is empty.
        let row = Points::row(&u, 1, 3);
        assert_eq!(row.collect::<Vec<_>>(), all[3..6]);
        assert_eq!(row.get(2), all[5]);
        assert_eq!(row.get(3), 0);
        assert_eq!(Points::row(&u, 4, 3).count(), 0);
        assert_eq!(Points::row(&u, 0, all.len() + 1).count(), 0);
    }

    /// A step comparing a subtotal or the total reads the scores as scoring wrote them; a draw or a
    /// protocol step has no value; any other step gives back its values.
    #[test]
    fn ties_read_subtotals_total_and_their_own_values() {
        let reg = crate::compile_str(
            "t.toml",
            "[regulation]\nid = \"t\"\ntitle = \"T\"\nservice = \"nido\"\nschool_year = \"2026/2027\"\n\
             authority = \"C\"\nsource = \"D\"\nreference_date = 2026-12-31\npoints_decimals = 1\n\n\
             [inputs.born]\ntype = \"date\"\nlabel = \"N\"\n\n[subtotals]\nhome = \"Casa\"\n\n\
             [criteria.c]\nlabel = \"C\"\nsubtotal = \"home\"\npoints = 1.5\n\n\
             [[tie_break]]\nby = \"home\"\norder = \"desc\"\n\n[[tie_break]]\nby = \"draw\"\n\n\
             [[tie_break]]\nby = \"born\"\norder = \"asc\"\n\n[[tie_break]]\nby = \"total\"\norder = \"desc\"\n",
        )
        .unwrap();
        let mut columns = TieColumns::new(&reg, 2);
        assert_eq!(
            (0..4).map(|k| columns.keeps(k)).collect::<Vec<_>>(),
            [false, false, true, false]
        );
        let born = Value::Date(jiff::civil::date(2025, 3, 1));
        columns.push_row(&[Value::Missing, Value::Missing, born, Value::Missing]);
        columns.push_lane(2, &Lane::Values(vec![Value::Missing]));
        let ties = |row, subtotals, total| {
            Ties(TiesOf::Scored {
                columns: &columns,
                row,
                subtotals,
                total,
                scale: 1,
                applicant: None,
            })
        };
        let t = ties(0, &[15], 20);
        let dec = |s: &str| Value::Dec(s.parse().unwrap());
        assert_eq!(
            (0..5).map(|k| format!("{:?}", t.get(k))).collect::<Vec<_>>(),
            [dec("1.5"), Value::Missing, born, dec("2"), Value::Missing].map(|v| format!("{v:?}"))
        );
        assert_eq!(ties(1, &[0], 0).get(2), Value::Missing);
        // The same steps as ordinals: the subtotal and the total as whole units at the points' scale,
        // the date from its code, as the values themselves give them.
        assert_eq!(
            (0..5).map(|k| t.ordinal(k)).collect::<Vec<_>>(),
            [
                Ordinal::Number { units: 15, scale: 1 },
                Ordinal::Missing,
                born.ordinal(),
                Ordinal::Number { units: 20, scale: 1 },
                Ordinal::Missing
            ]
        );
        assert_eq!(ties(0, &[], 20).ordinal(0), Ordinal::Missing);
        assert_eq!(ties(1, &[0], 0).ordinal(2), Ordinal::Missing);
        assert_eq!(
            Ties::listed(&[dec("1.5")]).ordinal(0),
            Ordinal::Number { units: 15, scale: 1 }
        );
    }
}
