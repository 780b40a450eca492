//! How a regulation orders two applications: tiers first (group by group, in the order the levels are
//! written), then the total score (higher first), then the tie-break chain, then the protocol number.
//!
//! The public draw gives each application one value, the SHA-256 of the published seed, a zero byte and
//! the protocol number as written in the ranking (`2026/000123`), compared as bytes: anyone can recompute
//! it with `printf '%s\0%s' "$SEED" 2026/000123 | sha256sum`. One value per application, whatever the list,
//! so the draw cannot favour an application in one facility and disfavour it in another.

use std::cmp::Ordering;

use graduatorie_domain::ProtocolNumber;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

use crate::evaluate::{Evaluation, FacilityScore};
use crate::model::{Order, Regulation, TieKind};
use crate::scores::Ties;
use crate::value::Value;

/// What ordering needs to know of one application in one list.
#[derive(Debug, Clone, Copy)]
pub struct Standing<'a> {
    /// Group index per tier level (lower is better).
    pub tier: &'a [u16],
    /// Total score in this list.
    pub total: Decimal,
    /// The same total as whole units of `10^-scale`, when known (scores of a batch): the ranking's
    /// keys read it instead of the decimal.
    pub total_units: Option<(i64, u32)>,
    /// Tie-break values in this list.
    pub tie_keys: Ties<'a>,
    /// Age section, for section-specific directions.
    pub section: Option<u16>,
    /// Protocol number (draw and last resort).
    pub protocol: Option<ProtocolNumber>,
    /// The public draw value, when computed in advance ([`draw_value`]); otherwise computed from the
    /// seed and the protocol at each comparison.
    pub draw: Option<[u8; 32]>,
}

impl<'a> Standing<'a> {
    /// The standing in a list that does not depend on the facility.
    pub fn of(ev: &'a Evaluation, protocol: Option<ProtocolNumber>) -> Self {
        Standing {
            tier: &ev.tier,
            total: ev.total,
            total_units: None,
            tie_keys: Ties::listed(&ev.tie_keys),
            section: ev.section,
            protocol,
            draw: None,
        }
    }

    /// The standing in the list of one preferred facility.
    pub fn at(ev: &'a Evaluation, facility: &'a FacilityScore, protocol: Option<ProtocolNumber>) -> Self {
        Standing {
            tier: &ev.tier,
            total: facility.total,
            total_units: None,
            tie_keys: Ties::listed(&facility.tie_keys),
            section: ev.section,
            protocol,
            draw: None,
        }
    }
}

/// The public draw value of an application: SHA-256(seed ‖ 0x00 ‖ protocol).
pub fn draw_value(seed: &str, protocol: ProtocolNumber) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update([0u8]);
    let mut text = String::with_capacity(16);
    protocol.push_to(&mut text);
    h.update(text.as_bytes());
    h.finalize().into()
}

impl Regulation {
    /// Orders two applications of the same list: `Less` when `a` ranks before `b`. `seed` is the
    /// published seed of the public draw (needed only when the chain has a `draw` step; without it the
    /// draw step ties and the protocol decides).
    pub fn compare(&self, a: &Standing<'_>, b: &Standing<'_>, seed: Option<&str>) -> Ordering {
        a.tier
            .cmp(b.tier)
            .then_with(|| b.total.cmp(&a.total))
            .then_with(|| self.compare_ties(a, b, seed))
            .then_with(|| compare_missing_last(a.protocol, b.protocol))
    }

    /// Only the tie-break chain, step by step; `Equal` when every step ties.
    pub fn compare_ties(&self, a: &Standing<'_>, b: &Standing<'_>, seed: Option<&str>) -> Ordering {
        for (i, t) in self.tie_breaks.iter().enumerate() {
            let order = match (a.section, b.section) {
                (Some(s), Some(s2)) if s == s2 => t
                    .section_order
                    .iter()
                    .find(|(sec, _)| *sec == s)
                    .map_or(t.order, |(_, o)| *o),
                // A list mixing sections, at a step whose direction depends on the section: the
                // sections in declared order first (no section last), so that the order stays a
                // total order (a direction that changed from pair to pair could make it circular).
                (x, y) if !t.section_order.is_empty() => {
                    let rank = |s: Option<u16>| s.map_or(u32::MAX, u32::from);
                    match rank(x).cmp(&rank(y)) {
                        Ordering::Equal => t.order,
                        other => return other,
                    }
                }
                _ => t.order,
            };
            let step = match &t.kind {
                TieKind::Value(_) => {
                    let (x, y) = (a.tie_keys.get(i), b.tie_keys.get(i));
                    match (x == Value::Missing, y == Value::Missing) {
                        (true, true) => Ordering::Equal,
                        (true, false) => {
                            if t.missing_first {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            }
                        }
                        (false, true) => {
                            if t.missing_first {
                                Ordering::Greater
                            } else {
                                Ordering::Less
                            }
                        }
                        (false, false) => directed(x.compare(y).unwrap_or(Ordering::Equal), order),
                    }
                }
                TieKind::Draw => match (seed, a.protocol, b.protocol) {
                    _ if a.draw.is_some() && b.draw.is_some() => directed(a.draw.cmp(&b.draw), order),
                    (Some(seed), Some(p), Some(q)) => {
                        directed(draw_value(seed, p).cmp(&draw_value(seed, q)), order)
                    }
                    // Without a protocol number there is no draw value: after those that have one.
                    (Some(_), Some(_), None) => Ordering::Less,
                    (Some(_), None, Some(_)) => Ordering::Greater,
                    _ => Ordering::Equal,
                },
                TieKind::Protocol => directed(compare_missing_last(a.protocol, b.protocol), order),
            };
            if step != Ordering::Equal {
                return step;
            }
        }
        Ordering::Equal
    }
}

fn directed(o: Ordering, order: Order) -> Ordering {
    match order {
        Order::Asc => o,
        Order::Desc => o.reverse(),
    }
}

fn compare_missing_last(a: Option<ProtocolNumber>, b: Option<ProtocolNumber>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
