//! Many applications' typed answers, stored column by column.
//!
//! A [`Facts`] keeps one application in a few small vectors of its own: fine for one application, but a
//! million of them are a million scattered heap blocks (about 1 KB each), and scoring them spent half of
//! its time waiting for memory. A [`FactsBatch`] keeps each input as one column for the whole batch,
//! each repeated input as one table, and every list of facilities in one vector, so a batch evaluator
//! reads memory in order and a million applications take a fraction of the space.

use graduatorie_domain::ProtocolNumber;
use jiff::Timestamp;

use crate::column::Column;
use crate::facts::{Facts, ListRows};
use crate::lane::Lane;
use crate::value::Value;

/// Typed applications, column by column. Application `i` reads as the `i`-th [`Facts`] pushed.
#[derive(Debug, Clone, Default)]
pub struct FactsBatch {
    len: usize,
    /// Applications expected in all, for sizing columns created later.
    reserve: usize,
    /// Per scalar slot, one value per application (stored compactly by kind).
    scalars: Vec<Column>,
    /// Per repeated input: where each application's records start (`len + 1` entries), and the records,
    /// one column per field.
    lists: Vec<Table>,
    /// Where each application's lists of facilities start in `facility_lists` (`len + 1` entries).
    facility_base: Vec<u32>,
    /// Where each list of facilities starts in `facilities` (one more than lists).
    facility_lists: Vec<u32>,
    facilities: Vec<u32>,
    protocols: Vec<Option<ProtocolNumber>>,
}

#[derive(Debug, Clone, Default)]
struct Table {
    /// Fields per record.
    width: usize,
    /// Where each application's records start, counted in records.
    start: Vec<u32>,
    /// One column per field, a value per record: stored compactly by kind, as the scalars are (24
    /// bytes per value took 220 MB for the parents of a million applications).
    fields: Vec<Column>,
    /// Records in all.
    records: usize,
    /// Room to make in a new field column.
    room: usize,
}

fn index(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl FactsBatch {
    /// An empty batch.
    pub fn new() -> Self {
        FactsBatch {
            facility_base: vec![0],
            facility_lists: vec![0],
            ..FactsBatch::default()
        }
    }

    /// An empty batch with room for `n` applications (fewer or more may be pushed).
    pub fn with_capacity(n: usize) -> Self {
        let mut batch = FactsBatch::new();
        batch.reserve = n;
        batch.protocols.reserve(n);
        batch.facility_base.reserve(n);
        batch
    }

    /// The number of applications room was made for.
    pub fn capacity(&self) -> usize {
        self.reserve.max(self.len)
    }

    /// Adds the applications of `other` at the end, as pushing them one by one would. Batches of one
    /// regulation (the same inputs and lists) are joined column by column; anything else application
    /// by application.
    pub fn append(&mut self, other: &FactsBatch) {
        if other.is_empty() {
            return;
        }
        let same_shape = (self.is_empty() || self.scalars.len() == other.scalars.len())
            && self.scalars.len() <= other.scalars.len()
            && self.lists.len() == other.lists.len();
        if !same_shape {
            for a in 0..other.len() {
                self.push(&other.get(a));
            }
            return;
        }
        let n = self.len;
        let room = self.capacity().max(n + other.len());
        while self.scalars.len() < other.scalars.len() {
            self.scalars.push(Column::new(n, room));
        }
        for (column, more) in self.scalars.iter_mut().zip(&other.scalars) {
            column.append(more);
        }
        for (table, more) in self.lists.iter_mut().zip(&other.lists) {
            table.append(more);
        }
        let lists = index(self.facility_lists.len().saturating_sub(1));
        let facilities = index(self.facilities.len());
        self.facilities.extend_from_slice(&other.facilities);
        self.facility_lists.extend(
            other
                .facility_lists
                .iter()
                .skip(1)
                .map(|&at| at.saturating_add(facilities)),
        );
        self.facility_base.extend(
            other
                .facility_base
                .iter()
                .skip(1)
                .map(|&at| at.saturating_add(lists)),
        );
        self.protocols.extend_from_slice(&other.protocols);
        self.len += other.len;
    }

    /// A batch of these applications, in order.
    pub fn from_facts(facts: &[Facts]) -> Self {
        let mut batch = FactsBatch::new();
        for f in facts {
            batch.push(f);
        }
        batch
    }

    /// Adds one application at the end.
    pub fn push(&mut self, f: &Facts) {
        let n = self.len;
        // A wider application (it should not happen within one regulation) widens every column.
        while self.scalars.len() < f.scalars.len() {
            self.scalars.push(Column::new(n, self.reserve.max(n + 1)));
        }
        for (slot, column) in self.scalars.iter_mut().enumerate() {
            column.push(f.scalars.get(slot).copied().unwrap_or(Value::Missing));
        }
        while self.lists.len() < f.lists.len() {
            let mut start = Vec::with_capacity(self.reserve.max(n) + 1);
            start.resize(n + 1, 0);
            self.lists.push(Table {
                width: 0,
                start,
                fields: Vec::new(),
                records: 0,
                // Room for a couple of records per application (parents): grown if more come.
                room: self.reserve.max(n + 1).saturating_mul(2),
            });
        }
        for (l, table) in self.lists.iter_mut().enumerate() {
            if let Some(rows) = f.lists.get(l) {
                table.push(rows);
            }
            table.start.push(index(table.records));
        }
        for list in &f.facility_lists {
            self.facilities.extend_from_slice(list);
            self.facility_lists.push(index(self.facilities.len()));
        }
        self.facility_base
            .push(index(self.facility_lists.len().saturating_sub(1)));
        self.protocols.push(f.protocol);
        self.len += 1;
    }

    /// Number of applications.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Application `a` as a [`Facts`] of its own (for the row evaluator).
    pub fn get(&self, a: usize) -> Facts {
        let base = self.facility_base.get(a).copied().unwrap_or(0);
        let end = self.facility_base.get(a + 1).copied().unwrap_or(base);
        Facts {
            protocol: self.protocol(a),
            scalars: self.scalars.iter().map(|c| c.get(a)).collect(),
            lists: self
                .lists
                .iter()
                .map(|t| ListRows {
                    width: t.width,
                    values: t.rows(a),
                })
                .collect(),
            facility_lists: (base..end)
                .map(|l| self.global_facility_list(l).to_vec())
                .collect(),
        }
    }

    /// Protocol number of application `a`.
    pub fn protocol(&self, a: usize) -> Option<ProtocolNumber> {
        self.protocols.get(a).copied().flatten()
    }

    /// Protocol numbers, one per application.
    pub fn protocols(&self) -> &[Option<ProtocolNumber>] {
        &self.protocols
    }

    /// The value of scalar `slot` for application `a`.
    #[inline]
    pub(crate) fn scalar(&self, a: usize, slot: u16) -> Value {
        self.scalars
            .get(usize::from(slot))
            .map_or(Value::Missing, |c| c.get(a))
    }

    /// The values of scalar `slot` for applications `from..from + len` as a lane; `None` when they are
    /// not all stored.
    pub(crate) fn scalar_lane(&self, from: usize, len: usize, slot: u16) -> Option<Lane> {
        self.scalars.get(usize::from(slot))?.lane(from, len)
    }

    /// The values of scalar `slot` for applications `base + at[i]` as a lane (missing when not stored).
    pub(crate) fn scalar_lane_at(&self, base: usize, at: &[u32], slot: u16) -> Lane {
        match self.scalars.get(usize::from(slot)) {
            Some(c) => c.lane_at(base, at),
            None => Lane::Values(vec![Value::Missing; at.len()]),
        }
    }

    /// Field `field` of the records of `list` at `offsets`, as a lane.
    pub(crate) fn list_lane_at(&self, list: u16, field: u16, offsets: &[u32]) -> Lane {
        match self
            .lists
            .get(usize::from(list))
            .and_then(|t| t.fields.get(usize::from(field)))
        {
            Some(c) => c.lane_at(0, offsets),
            None => Lane::Values(vec![Value::Missing; offsets.len()]),
        }
    }

    /// Where application `a`'s records of `list` lie in that list's table: the offset of the first
    /// record, the offset past the last, and the offsets per record (1: offsets count records).
    #[inline]
    pub(crate) fn list_span(&self, a: usize, list: u16) -> (u32, u32, u32) {
        self.lists.get(usize::from(list)).map_or((0, 0, 0), |t| {
            let from = t.start.get(a).copied().unwrap_or(0);
            let to = t.start.get(a + 1).copied().unwrap_or(from).max(from);
            (from, to, 1)
        })
    }

    /// Field `field` of the record of `list` at `offset` (see [`FactsBatch::list_span`]).
    #[inline]
    pub(crate) fn list_value_at(&self, list: u16, offset: u32, field: u16) -> Value {
        self.lists
            .get(usize::from(list))
            .and_then(|t| t.fields.get(usize::from(field)))
            .map_or(Value::Missing, |c| c.get(offset as usize))
    }

    /// Field `field` of record `row` of `list` for application `a`.
    #[inline]
    pub(crate) fn list_value(&self, a: usize, list: u16, row: u32, field: u16) -> Value {
        let (from, to, _) = self.list_span(a, list);
        match from.checked_add(row) {
            Some(at) if at < to => self.list_value_at(list, at, field),
            _ => Value::Missing,
        }
    }

    /// The `i`-th list of facilities of application `a` (what a `Value::Facilities(i)` of it means).
    #[inline]
    pub(crate) fn facility_list(&self, a: usize, i: u32) -> &[u32] {
        let base = self.facility_base.get(a).copied().unwrap_or(0);
        let end = self.facility_base.get(a + 1).copied().unwrap_or(base);
        match base.checked_add(i) {
            Some(l) if l < end => self.global_facility_list(l),
            _ => &[],
        }
    }

    fn global_facility_list(&self, l: u32) -> &[u32] {
        let from = self.facility_lists.get(l as usize).copied().unwrap_or(0) as usize;
        let to = self.facility_lists.get(l as usize + 1).copied().unwrap_or(0) as usize;
        self.facilities.get(from..to).unwrap_or(&[])
    }

    /// The scalar slots: the regulation's inputs, then submission time, then preferences (see
    /// [`Facts::preferences`]).
    fn slots(&self) -> usize {
        self.scalars.len()
    }

    /// Application `a`'s preferred facilities, in order.
    pub fn preferences(&self, a: usize) -> &[u32] {
        match self.slots().checked_sub(1).map(|s| self.scalar(a, index_u16(s))) {
            Some(Value::Facilities(i)) => self.facility_list(a, i),
            _ => &[],
        }
    }

    /// Application `a`'s submission time.
    pub fn submitted_at(&self, a: usize) -> Option<Timestamp> {
        match self.slots().checked_sub(2).map(|s| self.scalar(a, index_u16(s))) {
            Some(Value::Time(t)) => Some(t),
            _ => None,
        }
    }
}

fn index_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

impl Table {
    /// The column of each field, made when the first record comes.
    fn columns(&mut self) -> &mut [Column] {
        while self.fields.len() < self.width {
            self.fields.push(Column::new(self.records, self.room));
        }
        &mut self.fields
    }

    fn push(&mut self, rows: &ListRows) {
        if self.records == 0 && self.width == 0 {
            self.width = rows.width;
        }
        // One width per list within a regulation; a record of another width is left out rather than
        // read across records. Records are whole (a partial last one is never read).
        if rows.width != self.width || self.width == 0 {
            return;
        }
        let width = self.width;
        let columns = self.columns();
        let mut added = 0;
        for record in rows.values.chunks_exact(width) {
            for (column, &v) in columns.iter_mut().zip(record) {
                column.push(v);
            }
            added += 1;
        }
        self.records += added;
    }

    /// The records of `other` after these, as [`Table::push`] of each application's would add them.
    fn append(&mut self, other: &Table) {
        if self.records == 0 && self.width == 0 {
            self.width = other.width;
        }
        let base = index(self.records);
        if other.width == self.width && other.records > 0 {
            for (column, more) in self.columns().iter_mut().zip(&other.fields) {
                column.append(more);
            }
            self.records += other.records;
            self.start
                .extend(other.start.iter().skip(1).map(|&at| at.saturating_add(base)));
        } else {
            // Records of another width are left out, as `push` leaves them out.
            self.start
                .extend(std::iter::repeat_n(base, other.start.len().saturating_sub(1)));
        }
    }

    /// Application `a`'s records, one after the other, each its fields in order.
    fn rows(&self, a: usize) -> Vec<Value> {
        let from = self.start.get(a).copied().unwrap_or(0) as usize;
        let to = self.start.get(a + 1).copied().unwrap_or(0) as usize;
        let mut values = Vec::with_capacity(to.saturating_sub(from) * self.width);
        for r in from..to {
            values.extend(self.fields.iter().map(|c| c.get(r)));
        }
        values
    }
}

impl FromIterator<Facts> for FactsBatch {
    fn from_iter<I: IntoIterator<Item = Facts>>(iter: I) -> Self {
        let mut batch = FactsBatch::new();
        for f in iter {
            batch.push(&f);
        }
        batch
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]
mod tests {
    use super::*;

    /// Applications of varied shapes: answers of several kinds and missing ones, records of a list
    /// (none, one or two), lists of facilities, protocols or none.
    fn applications() -> Vec<Facts> {
        let kinds = [
            Value::Missing,
            Value::Bool(true),
            Value::Int(4),
            Value::Choice(1),
            Value::Dec(rust_decimal::Decimal::new(1_250, 2)),
        ];
        (0..12u32)
            .map(|i| {
                let k = i as usize;
                let records = k % 3;
                let width = 2;
                Facts {
                    protocol: (i % 5 != 0).then(|| ProtocolNumber::new(2026, i + 1).unwrap()),
                    scalars: vec![
                        kinds[k % kinds.len()],
                        kinds[(k / 2) % kinds.len()],
                        if i % 4 == 0 {
                            Value::Missing
                        } else {
                            Value::Facilities(0)
                        },
                    ],
                    lists: vec![ListRows {
                        width,
                        values: (0..records * width)
                            .map(|v| Value::Int(i64::from(i) * 10 + v as i64))
                            .collect(),
                    }],
                    facility_lists: (0..k % 3).map(|l| vec![i, i + l as u32 + 1]).collect(),
                }
            })
            .collect()
    }

    fn read_all(b: &FactsBatch) -> Vec<String> {
        (0..b.len())
            .map(|a| {
                let lists: Vec<&[u32]> = (0..3).map(|l| b.facility_list(a, l)).collect();
                format!("{:?} {:?} {:?}", b.get(a), b.preferences(a), lists)
            })
            .collect()
    }

    /// Two batches joined read exactly as one batch given all the applications, wherever the split,
    /// whether the first part is empty or not; batches of other shapes are joined too.
    #[test]
    fn appended_batches_read_as_one() {
        let apps = applications();
        let whole = FactsBatch::from_facts(&apps);
        let want = read_all(&whole);
        for split in 0..=apps.len() {
            let mut first = FactsBatch::with_capacity(split);
            for f in &apps[..split] {
                first.push(f);
            }
            first.append(&FactsBatch::from_facts(&apps[split..]));
            assert_eq!(first.len(), apps.len());
            assert_eq!(read_all(&first), want, "split at {split}");
        }
        // A first part with more inputs than the second (not of one regulation): as pushing.
        let mut wider = apps.clone();
        wider[0].scalars.push(Value::Bool(false));
        let mut one = FactsBatch::from_facts(&wider);
        let mut joined = FactsBatch::from_facts(&wider[..1]);
        joined.append(&FactsBatch::from_facts(&wider[1..]));
        assert_eq!(read_all(&joined), read_all(&one));
        one.append(&FactsBatch::new());
        assert_eq!(read_all(&joined), read_all(&one));
        // Records of another width in the second part are left out, as pushing its applications
        // one by one leaves them out.
        let mut other = apps.clone();
        for f in &mut other[6..] {
            f.lists[0].width = 1;
        }
        let second = FactsBatch::from_facts(&other[6..]);
        let mut by_columns = FactsBatch::from_facts(&other[..6]);
        by_columns.append(&second);
        let mut by_rows = FactsBatch::from_facts(&other[..6]);
        for a in 0..second.len() {
            by_rows.push(&second.get(a));
        }
        assert_eq!(read_all(&by_columns), read_all(&by_rows));
    }
}
