//! Sort keys: each list member's standing written as bytes that sort exactly as the regulation orders
//! ([`Regulation::compare`]), so a list of a million is sorted by comparing bytes instead of walking
//! the tie-break chain at every comparison.
//!
//! Layout, per member, the same width for every member of a sort: the group of each tier level (2
//! bytes); the total; then per tie-break step a "missing" byte (placing missing values first or last)
//! and the value; the draw (a byte placing members without one last, then 32 bytes); the protocol.
//! Numbers are written at the largest scale found in their column, as 64-bit integers (128-bit when
//! one of them needs it) with the sign bit flipped; a descending step is written inverted.
//! When a standing cannot be written so (a global list whose direction changes by section, numbers too
//! large for 128 bits at a common scale, mixed kinds in a column), [`encode`] returns `None` and the
//! caller sorts with the comparator: both give the same order, which a property test holds them to.

use graduatorie_domain::ProtocolNumber;
use graduatorie_rules::model::{Order, TieKind};
use graduatorie_rules::{Regulation, Value};
use rust_decimal::Decimal;

/// What one member's standing is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    pub tier: &'a [u16],
    pub total: Decimal,
    pub ties: &'a [Value],
    pub section: Option<u16>,
    pub protocol: Option<ProtocolNumber>,
    pub draw: Option<[u8; 32]>,
}

/// How a column of tie-break values is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    AllMissing,
    /// Numbers at a common scale; `wide` when some do not fit in 64 bits.
    Number {
        scale: u32,
        wide: bool,
    },
    Bool,
    Date,
    Time,
    Choice,
    Facility,
}

fn kind_of(v: Value) -> Option<Kind> {
    Some(match v {
        Value::Missing => Kind::AllMissing,
        Value::Int(_) => Kind::Number {
            scale: 0,
            wide: false,
        },
        Value::Dec(d) => Kind::Number {
            scale: d.scale(),
            wide: false,
        },
        Value::Bool(_) => Kind::Bool,
        Value::Date(_) => Kind::Date,
        Value::Time(_) => Kind::Time,
        Value::Choice(_) => Kind::Choice,
        Value::Facility(_) => Kind::Facility,
        Value::Facilities(_) => return None,
    })
}

/// The common kind of a column, or `None` when kinds are mixed.
fn column_kind(values: impl Iterator<Item = Value>) -> Option<Kind> {
    let mut kind = Kind::AllMissing;
    for v in values {
        let k = kind_of(v)?;
        kind = match (kind, k) {
            (a, Kind::AllMissing) => a,
            (Kind::AllMissing, b) => b,
            (Kind::Number { scale: a, .. }, Kind::Number { scale: b, .. }) => Kind::Number {
                scale: a.max(b),
                wide: false,
            },
            (a, b) if a == b => a,
            _ => return None,
        };
    }
    Some(kind)
}

fn width(kind: Kind) -> usize {
    match kind {
        Kind::AllMissing => 0,
        Kind::Number { wide: true, .. } => 16,
        Kind::Number { wide: false, .. } => 8,
        Kind::Bool => 1,
        Kind::Date => 4,
        Kind::Time => 12,
        Kind::Choice => 2,
        Kind::Facility => 4,
    }
}

/// A number at `scale` decimals as a whole number, if it fits in 128 bits.
fn scaled(d: Decimal, scale: u32) -> Option<i128> {
    let up = scale.checked_sub(d.scale())?;
    d.mantissa().checked_mul(10i128.checked_pow(up)?)
}

/// Whether some of these numbers at `scale` need 128 bits (`None`: one does not fit at all).
fn needs_wide(values: impl Iterator<Item = Decimal>, scale: u32) -> Option<bool> {
    let mut wide = false;
    for d in values {
        wide |= i64::try_from(scaled(d, scale)?).is_err();
    }
    Some(wide)
}

/// Appends a number at `scale` as an order-preserving bit pattern: 8 bytes, or 16 when `wide`.
fn put_number(out: &mut Vec<u8>, d: Decimal, scale: u32, wide: bool, desc: bool) -> Option<()> {
    let n = scaled(d, scale)?;
    if wide {
        put(out, &((n as u128) ^ (1u128 << 127)).to_be_bytes(), desc);
    } else {
        let n = i64::try_from(n).ok()?;
        put(out, &((n as u64) ^ (1u64 << 63)).to_be_bytes(), desc);
    }
    Some(())
}

/// Appends `bytes`, inverted when descending.
fn put(out: &mut Vec<u8>, bytes: &[u8], desc: bool) {
    if desc {
        out.extend(bytes.iter().map(|b| !b));
    } else {
        out.extend_from_slice(bytes);
    }
}

fn value_bytes(out: &mut Vec<u8>, v: Value, kind: Kind, desc: bool) -> Option<()> {
    match (kind, v) {
        (Kind::Number { scale, wide }, v) => put_number(out, v.as_dec()?, scale, wide, desc)?,
        (Kind::Bool, Value::Bool(b)) => put(out, &[u8::from(b)], desc),
        (Kind::Date, Value::Date(d)) => {
            let n = (i32::from(d.year()) << 9) | (i32::from(d.month()) << 5) | i32::from(d.day());
            put(out, &((n as u32) ^ (1 << 31)).to_be_bytes(), desc);
        }
        (Kind::Time, Value::Time(t)) => {
            let secs = (t.as_second() as u64) ^ (1 << 63);
            let nanos = u32::try_from(t.subsec_nanosecond()).ok()?;
            put(out, &secs.to_be_bytes(), desc);
            put(out, &nanos.to_be_bytes(), desc);
        }
        (Kind::Choice, Value::Choice(c)) => put(out, &c.to_be_bytes(), desc),
        (Kind::Facility, Value::Facility(f)) => put(out, &f.to_be_bytes(), desc),
        _ => return None,
    }
    Some(())
}

fn protocol_bytes(out: &mut Vec<u8>, p: Option<ProtocolNumber>, desc: bool) {
    // Present before missing.
    let (flag, year, number) = match p {
        Some(p) => (0u8, p.year().to_be_bytes(), p.number().to_be_bytes()),
        None => (1, [0; 2], [0; 4]),
    };
    put(out, &[flag], desc);
    put(out, &year, desc);
    put(out, &number, desc);
}

/// The sort keys of `members` (all of one list), `width` bytes each, or `None` when the comparator must
/// be used instead. `same_section` is true when every member of the list is in the same section.
pub(crate) fn encode(
    reg: &Regulation,
    members: &[Member<'_>],
    same_section: bool,
    seed: Option<&str>,
) -> Option<(Vec<u8>, usize)> {
    let ties = reg.tie_breaks();
    let first = members.first()?;
    let section = first.section;
    let levels = first.tier.len();
    let total_scale = members.iter().map(|m| m.total.scale()).max().unwrap_or(0);
    let total_wide = needs_wide(members.iter().map(|m| m.total), total_scale)?;
    let mut kinds = Vec::with_capacity(ties.len());
    for (k, t) in ties.iter().enumerate() {
        if !t.section_order.is_empty() && !same_section {
            return None;
        }
        kinds.push(match t.kind {
            TieKind::Value(_) => {
                let column = || {
                    members
                        .iter()
                        .map(move |m| m.ties.get(k).copied().unwrap_or(Value::Missing))
                };
                match column_kind(column())? {
                    Kind::Number { scale, .. } => Kind::Number {
                        scale,
                        wide: needs_wide(column().filter_map(Value::as_dec), scale)?,
                    },
                    other => other,
                }
            }
            TieKind::Draw => {
                // With a seed, members without a draw value (no protocol number) come after the
                // others; the values are computed in advance for every member that has one.
                if seed.is_some() && members.iter().any(|m| m.draw.is_none() && m.protocol.is_some()) {
                    return None;
                }
                Kind::AllMissing
            }
            TieKind::Protocol => Kind::AllMissing,
        });
    }
    let w = 2 * levels
        + if total_wide { 16 } else { 8 }
        + ties
            .iter()
            .zip(&kinds)
            .map(|(t, &k)| match t.kind {
                TieKind::Value(_) => 1 + width(k),
                TieKind::Draw => 33,
                TieKind::Protocol => 7,
            })
            .sum::<usize>()
        + 7;
    // The direction of each step, the same for every member (one section, or none).
    let descending: Vec<bool> = ties
        .iter()
        .map(|t| {
            let order = match section {
                Some(s) => t
                    .section_order
                    .iter()
                    .find(|(x, _)| *x == s)
                    .map_or(t.order, |(_, o)| *o),
                None => t.order,
            };
            order == Order::Desc
        })
        .collect();
    let mut out = Vec::with_capacity(w * members.len());
    for m in members {
        if m.tier.len() != levels {
            return None;
        }
        for g in m.tier {
            out.extend_from_slice(&g.to_be_bytes());
        }
        put_number(&mut out, m.total, total_scale, total_wide, true)?;
        for (k, ((t, &kind), &desc)) in ties.iter().zip(&kinds).zip(&descending).enumerate() {
            match t.kind {
                TieKind::Value(_) => {
                    let v = m.ties.get(k).copied().unwrap_or(Value::Missing);
                    if v == Value::Missing {
                        out.push(if t.missing_first { 0 } else { 2 });
                        out.extend(std::iter::repeat_n(0, width(kind)));
                    } else {
                        out.push(1);
                        value_bytes(&mut out, v, kind, desc)?;
                    }
                }
                TieKind::Draw => match m.draw {
                    Some(d) => {
                        out.push(0);
                        put(&mut out, &d, desc);
                    }
                    None => {
                        out.push(1);
                        out.extend([0u8; 32]);
                    }
                },
                TieKind::Protocol => protocol_bytes(&mut out, m.protocol, desc),
            }
        }
        protocol_bytes(&mut out, m.protocol, false);
    }
    (out.len() == w * members.len()).then_some((out, w))
}
