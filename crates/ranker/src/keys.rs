//! Sort keys: each list member's standing written as bytes that sort exactly as the regulation orders
//! ([`Regulation::compare`]), so a list of a million is sorted by comparing bytes instead of walking
//! the tie-break chain at every comparison.
//!
//! Layout, per member, the same width for every member of a sort: the group of each tier level (2
//! bytes); the total; then per tie-break step a "missing" byte (placing missing values first or last)
//! and the value; the draw (a byte placing members without one last, then 32 bytes); the protocol.
//! Numbers are written at the largest scale found in their column, as 128-bit integers with the sign
//! bit flipped; a descending step is written inverted.
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
    Number { scale: u32 },
    Bool,
    Date,
    Time,
    Choice,
    Facility,
}

fn kind_of(v: Value) -> Option<Kind> {
    Some(match v {
        Value::Missing => Kind::AllMissing,
        Value::Int(_) => Kind::Number { scale: 0 },
        Value::Dec(d) => Kind::Number { scale: d.scale() },
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
            (Kind::Number { scale: a }, Kind::Number { scale: b }) => Kind::Number { scale: a.max(b) },
            (a, b) if a == b => a,
            _ => return None,
        };
    }
    Some(kind)
}

fn width(kind: Kind) -> usize {
    match kind {
        Kind::AllMissing => 0,
        Kind::Number { .. } => 16,
        Kind::Bool => 1,
        Kind::Date => 4,
        Kind::Time => 12,
        Kind::Choice => 2,
        Kind::Facility => 4,
    }
}

/// A number at `scale` decimals as an order-preserving 128-bit pattern, if it fits.
fn number_bits(d: Decimal, scale: u32) -> Option<u128> {
    let up = scale.checked_sub(d.scale())?;
    let factor = 10i128.checked_pow(up)?;
    let n = d.mantissa().checked_mul(factor)?;
    Some((n as u128) ^ (1u128 << 127))
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
        (Kind::Number { scale }, v) => {
            let d = v.as_dec()?;
            put(out, &number_bits(d, scale)?.to_be_bytes(), desc);
        }
        (Kind::Bool, Value::Bool(b)) => put(out, &[u8::from(b)], desc),
        (Kind::Date, Value::Date(d)) => {
            let n = (i32::from(d.year()) << 9) | (i32::from(d.month()) << 5) | i32::from(d.day());
            put(out, &((n as u32) ^ (1 << 31)).to_be_bytes(), desc);
        }
        (Kind::Time, Value::Time(t)) => {
            let secs = (t.as_second() as u64) ^ (1 << 63);
            let nanos = u32::try_from(t.subsec_nanosecond()).ok()?;
            let b: Vec<u8> = secs
                .to_be_bytes()
                .into_iter()
                .chain(nanos.to_be_bytes())
                .collect();
            put(out, &b, desc);
        }
        (Kind::Choice, Value::Choice(c)) => put(out, &c.to_be_bytes(), desc),
        (Kind::Facility, Value::Facility(f)) => put(out, &f.to_be_bytes(), desc),
        _ => return None,
    }
    Some(())
}

fn protocol_bytes(out: &mut Vec<u8>, p: Option<ProtocolNumber>, desc: bool) {
    // Present before missing.
    let b: Vec<u8> = match p {
        Some(p) => std::iter::once(0)
            .chain(p.year().to_be_bytes())
            .chain(p.number().to_be_bytes())
            .collect(),
        None => vec![1, 0, 0, 0, 0, 0, 0],
    };
    put(out, &b, desc);
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
    let mut kinds = Vec::with_capacity(ties.len());
    for (k, t) in ties.iter().enumerate() {
        if !t.section_order.is_empty() && !same_section {
            return None;
        }
        kinds.push(match t.kind {
            TieKind::Value(_) => column_kind(
                members
                    .iter()
                    .map(|m| m.ties.get(k).copied().unwrap_or(Value::Missing)),
            )?,
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
        + 16
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
    let mut out = Vec::with_capacity(w * members.len());
    for m in members {
        if m.tier.len() != levels {
            return None;
        }
        for g in m.tier {
            out.extend_from_slice(&g.to_be_bytes());
        }
        put(&mut out, &number_bits(m.total, total_scale)?.to_be_bytes(), true);
        for (k, (t, &kind)) in ties.iter().zip(&kinds).enumerate() {
            let order = match section {
                Some(s) => t
                    .section_order
                    .iter()
                    .find(|(x, _)| *x == s)
                    .map_or(t.order, |(_, o)| *o),
                None => t.order,
            };
            let desc = order == Order::Desc;
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
