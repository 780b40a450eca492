//! Synthetic calls for a regulation: applications and seats for demos, simulations and benchmarks
//! (`graduatorie generate`, the ranker's benchmark). Pure: the caller writes the files.
//!
//! The same arguments always give the same applications: the random stream is ChaCha20 (value-stable across
//! versions of the crate) seeded with the SHA-256 of `--seed`. What "realistic" means here, for any
//! regulation (`docs/formats.md`, "Synthetic calls"): facility popularity skewed (the k-th most popular
//! facility is chosen about 1/k as often as the first); yes/no answers true for one family in five,
//! and for one in thirty when the question is sensitive (disability, social services); about one
//! application in twenty excluded by the regulation, the others admitted; ISEE-like money
//! amounts concentrated between 5,000 and 35,000 euros; dates (birth dates) spread over the three
//! years before the reference date, or within the input's bounds; one application in twenty submitted
//! late (June to September instead of January to March); optional answers left empty one time in ten.
//! Answers to questions the regulation does not ask (their `ask_if` is false) are dropped, so every
//! generated application is one the regulation accepts.

use graduatorie_rules::model::{InputDef, InputKind};
use graduatorie_rules::{ApplicationJson, Eligibility, FacilityTable, Regulation};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

/// A deterministic random stream.
struct Random(ChaCha20Rng);

impl Random {
    fn new(seed: &str) -> Self {
        Random(ChaCha20Rng::from_seed(Sha256::digest(seed.as_bytes()).into()))
    }
    /// Uniform in `0..n` (`n` > 0), without modulo bias worth speaking of for our sizes.
    fn below(&mut self, n: u64) -> u64 {
        let wide = u128::from(self.0.next_u64()) * u128::from(n.max(1));
        u64::try_from(wide >> 64).unwrap_or(0)
    }
    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }
    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = u64::try_from(i128::from(hi) - i128::from(lo) + 1).unwrap_or(u64::MAX);
        lo.saturating_add_unsigned(self.below(span))
    }
}

/// Facility choice with popularity proportional to 1/k.
struct Popularity {
    cumulative: Vec<u64>,
}

impl Popularity {
    fn new(m: u32) -> Self {
        let mut total = 0u64;
        let cumulative = (1..=u64::from(m))
            .map(|k| {
                total += 1_000_000_000 / k;
                total
            })
            .collect();
        Popularity { cumulative }
    }
    fn pick(&self, r: &mut Random) -> u32 {
        let x = r.below(self.cumulative.last().copied().unwrap_or(1));
        let i = self.cumulative.partition_point(|&c| c <= x);
        u32::try_from(i).unwrap_or(0)
    }
}

/// The code of synthetic facility `f` (0-based): `F0001`…
pub fn code(f: u32) -> String {
    format!("F{:04}", f + 1)
}

/// A generator of synthetic applications for one regulation.
pub struct Generator<'a> {
    reg: &'a Regulation,
    r: Random,
    popularity: Popularity,
    facilities: u32,
    preferences: u32,
}

impl<'a> Generator<'a> {
    /// A generator for `facilities` facilities and `preferences` preferences per application, from a
    /// seed (any text).
    pub fn new(reg: &'a Regulation, seed: &str, facilities: u32, preferences: u32) -> Self {
        Generator {
            reg,
            r: Random::new(seed),
            popularity: Popularity::new(facilities),
            facilities,
            preferences,
        }
    }

    /// Seats per facility and bucket (section, or section and time slot): about two seats for three
    /// applications overall, each facility between half and one and a half times the average.
    pub fn seats(&mut self, applications: u32, buckets: usize) -> Vec<Vec<u32>> {
        let per_bucket = u64::from(applications) * 2
            / 3
            / u64::from(self.facilities.max(1))
            / u64::try_from(buckets).unwrap_or(1).max(1);
        let lo = i64::try_from(per_bucket / 2).unwrap_or(0);
        let hi = i64::try_from(per_bucket * 3 / 2).unwrap_or(0).max(1);
        (0..self.facilities)
            .map(|_| {
                (0..buckets)
                    .map(|_| u32::try_from(self.r.between(lo, hi)).unwrap_or(0))
                    .collect()
            })
            .collect()
    }

    /// Application number `number`: one the regulation accepts, about one in twenty of them one it
    /// excludes (when a few draws find one), or `None` when no acceptable one was found.
    pub fn application(&mut self, number: u32, table: &mut FacilityTable) -> Option<ApplicationJson> {
        let want_excluded = self.r.chance(1, 20);
        let mut made = None;
        for _ in 0..30 {
            if let Some((app, excluded)) = self.draw_application(number, table) {
                made = Some(app);
                if excluded == want_excluded {
                    break;
                }
            }
        }
        made
    }

    fn money(&mut self, min: Option<Decimal>, max: Option<Decimal>) -> String {
        // Sum of two uniforms: a triangle between 0 and 40,000 euros peaking at 20,000, shifted up a
        // little, clamped to the input's bounds.
        let cents = self.r.between(0, 2_000_000) + self.r.between(0, 2_000_000) + 300_000;
        let mut v = Decimal::new(cents, 2);
        if let Some(lo) = min {
            v = v.max(lo);
        }
        if let Some(hi) = max {
            v = v.min(hi);
        }
        v.round_dp(2).to_string()
    }

    fn value(&mut self, def: &InputDef) -> Option<Json> {
        if def.optional && self.r.chance(1, 10) {
            return None;
        }
        let reference = self.reg.identity.reference_date;
        Some(match &def.kind {
            InputKind::Bool => {
                let p = if def.sensitive { (1, 30) } else { (1, 5) };
                Json::Bool(self.r.chance(p.0, p.1))
            }
            InputKind::Integer { min, max } => {
                // Counts (other children, invalid relatives) are mostly the smallest value.
                let lo = min.unwrap_or(0);
                let hi = max.unwrap_or(lo.saturating_add(3)).min(lo.saturating_add(3));
                let v = if self.r.chance(7, 10) {
                    lo
                } else {
                    self.r.between(lo, hi)
                };
                Json::String(v.to_string())
            }
            InputKind::Decimal { min, max } => {
                let lo = min.unwrap_or(Decimal::ZERO);
                let hi = max.unwrap_or(lo + Decimal::from(100));
                let steps = ((hi - lo) * Decimal::from(100)).trunc();
                let steps = i64::try_from(steps.mantissa()).unwrap_or(0).max(0);
                let v = lo + Decimal::new(self.r.between(0, steps), 2);
                Json::String(v.to_string())
            }
            InputKind::Money { min, max } => Json::String(self.money(*min, *max)),
            InputKind::Date { min, max } => {
                let lo = min.or_else(|| reference.checked_sub(jiff::Span::new().years(3)).ok());
                let hi = max.unwrap_or(reference);
                let lo = lo.unwrap_or(hi);
                let days = lo.until(hi).ok().map_or(0, |s| i64::from(s.get_days()));
                let d = lo
                    .checked_add(jiff::Span::new().days(self.r.between(0, days.max(0))))
                    .unwrap_or(lo);
                Json::String(d.to_string())
            }
            InputKind::Choice(set) => {
                let n = self
                    .reg
                    .choices()
                    .get(usize::from(*set))
                    .map_or(0, |c| c.options.len());
                // The first option is usually the common case (resident, two parents, employed).
                let k = if self.r.chance(3, 4) {
                    0
                } else {
                    usize::try_from(self.r.below(u64::try_from(n).unwrap_or(0))).unwrap_or(0)
                };
                let id = self
                    .reg
                    .choices()
                    .get(usize::from(*set))
                    .and_then(|c| c.options.get(k))
                    .map_or_else(String::new, |o| o.id.clone());
                Json::String(id)
            }
            InputKind::Facility => Json::String(code(self.popularity.pick(&mut self.r))),
            InputKind::Facilities { max } => {
                let k = max.unwrap_or(3).min(self.facilities).min(3);
                Json::Array(self.facility_list(k).into_iter().map(Json::String).collect())
            }
        })
    }

    fn facility_list(&mut self, k: u32) -> Vec<String> {
        let mut chosen: Vec<u32> = Vec::new();
        let k = k.min(self.facilities);
        let mut tries = 0;
        while u32::try_from(chosen.len()).unwrap_or(u32::MAX) < k && tries < 1000 {
            let f = self.popularity.pick(&mut self.r);
            if !chosen.contains(&f) {
                chosen.push(f);
            }
            tries += 1;
        }
        chosen.into_iter().map(code).collect()
    }

    fn list(&mut self, l: &graduatorie_rules::model::ListDef) -> Json {
        let n = self
            .r
            .between(i64::from(l.min_items.max(1)), i64::from(l.max_items.clamp(1, 2)));
        let records = (0..n)
            .map(|_| {
                let mut m = Map::new();
                for f in &l.fields {
                    if let Some(v) = self.value(f) {
                        m.insert(f.id.clone(), v);
                    }
                }
                Json::Object(m)
            })
            .collect();
        Json::Array(records)
    }

    /// One application the regulation accepts, and whether its rules exclude it from the ranking; `None`
    /// when none was found in a few attempts.
    fn draw_application(
        &mut self,
        number: u32,
        table: &mut FacilityTable,
    ) -> Option<(ApplicationJson, bool)> {
        let year = self.reg.identity.reference_date.year();
        let late = self.r.chance(1, 20);
        let (month, day) = if late {
            (self.r.between(6, 9), self.r.between(1, 28))
        } else {
            (self.r.between(1, 3), self.r.between(1, 28))
        };
        let submitted = format!(
            "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}+01:00",
            self.r.between(8, 19),
            self.r.between(0, 59),
            self.r.between(0, 59)
        );
        let mut app = ApplicationJson {
            protocol: Some(format!("{year}/{number:06}")),
            submitted_at: Some(submitted),
            preferences: self.facility_list(self.preferences),
            family: None,
            inputs: Map::new(),
        };
        for def in self.reg.inputs() {
            if let Some(v) = self.value(def) {
                app.inputs.insert(def.id.clone(), v);
            }
        }
        for l in self.reg.lists() {
            app.inputs.insert(l.id.clone(), self.list(l));
        }
        // Drop the answers to questions not asked and give the missing ones, until it is accepted.
        for _ in 0..8 {
            let e = match self.reg.facts(&app, table) {
                Ok(facts) => {
                    let excluded = matches!(
                        self.reg.evaluate(&facts).map(|e| e.eligibility),
                        Ok(Eligibility::Excluded(_))
                    );
                    return Some((app, excluded));
                }
                Err(e) => e,
            };
            for err in e.errors {
                let mut parts = err.pointer.trim_start_matches('/').split('/');
                let (Some("inputs"), Some(name)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let (record, field) = (parts.next(), parts.next());
                match (record.and_then(|r| r.parse::<usize>().ok()), field) {
                    (Some(r), Some(field)) => {
                        let def = self
                            .reg
                            .lists()
                            .iter()
                            .find(|l| l.id == name)
                            .and_then(|l| l.fields.iter().find(|f| f.id == field))
                            .cloned();
                        let rec = app
                            .inputs
                            .get_mut(name)
                            .and_then(|v| v.get_mut(r))
                            .and_then(Json::as_object_mut);
                        if let Some(rec) = rec
                            && rec.remove(field).is_none()
                            && let Some(def) = def
                        {
                            let mut def = def;
                            def.optional = false;
                            if let Some(v) = self.value(&def) {
                                rec.insert(field.to_owned(), v);
                            }
                        }
                    }
                    _ => {
                        if app.inputs.remove(name).is_none() {
                            if let Some(def) = self.reg.inputs().iter().find(|d| d.id == name).cloned() {
                                let mut def = def;
                                def.optional = false;
                                if let Some(v) = self.value(&def) {
                                    app.inputs.insert(name.to_owned(), v);
                                }
                            } else if let Some(l) = self.reg.lists().iter().find(|l| l.id == name).cloned() {
                                let v = self.list(&l);
                                app.inputs.insert(name.to_owned(), v);
                            }
                        }
                    }
                }
            }
        }
        None
    }
}
