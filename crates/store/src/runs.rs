//! Ranking runs and their results. A run records what it was computed from (inputs hash, rules hash,
//! seed, engine version, who asked); once published, neither the run nor its results can change
//! (triggers on both backends).

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, CallId, RankingId, UserId};
use jiff::Timestamp;

use crate::audit::{self, Actor};
use crate::connection::{AnyConnection, write_tx};
use crate::error::StoreError;
use crate::schema::{ranking_results as rr, ranking_runs as rn};
use crate::time;

/// What a run was computed from.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The call.
    pub call: CallId,
    /// 1 for the first ranking, then one per waiting-list round.
    pub round: i32,
    /// SHA-256 (hex) of the inputs as given to the engine.
    pub inputs_hash: &'a str,
    /// SHA-256 (hex) of the rules.
    pub rules_hash: &'a str,
    /// The public draw's seed.
    pub seed: &'a str,
    /// The engine's version.
    pub engine_version: &'a str,
    /// Who started it.
    pub triggered_by: Option<UserId>,
    /// The run's `manifest.json`.
    pub manifest: &'a serde_json::Value,
}

/// One line of a run's results.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = rr)]
pub struct ResultRow {
    /// The run.
    pub run_id: i64,
    /// The application.
    pub application_id: i64,
    /// The list (`global`, a section, a facility code).
    pub list: String,
    /// Position in that list, from 1.
    pub position: i64,
    /// Points × 10^`points_scale` (exact).
    pub points_scaled: i64,
    /// Decimal places of `points_scaled`.
    pub points_scale: i32,
    /// Precedence tier label.
    pub tier: String,
    /// `admitted`, `waiting`, `not_eligible`…
    pub outcome: String,
    /// The facility offered, if any.
    pub facility_code: Option<String>,
}

/// Records a computed run with its results, atomically. Results are written in chunks (SQLite allows
/// 32,766 bound values per statement).
pub fn record(
    conn: &mut AnyConnection,
    run: &NewRun<'_>,
    results: &[ResultRow],
    at: Timestamp,
) -> Result<RankingId, StoreError> {
    for hash in [run.inputs_hash, run.rules_hash] {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StoreError::Conflict(
                "ranking run: hashes must be 64 hexadecimal digits".into(),
            ));
        }
    }
    write_tx(conn, |tx| {
        let id = diesel::insert_into(rn::table)
            .values((
                rn::call_id.eq(run.call.get()),
                rn::round.eq(run.round),
                rn::inputs_hash.eq(run.inputs_hash),
                rn::rules_hash.eq(run.rules_hash),
                rn::seed.eq(run.seed),
                rn::engine_version.eq(run.engine_version),
                rn::triggered_by.eq(run.triggered_by.map(UserId::get)),
                rn::status.eq("computed"),
                rn::manifest.eq(run.manifest.to_string()),
                rn::created_at.eq(time::to_db(at)),
            ))
            .returning(rn::id)
            .get_result::<i64>(tx)?;
        for chunk in results.chunks(2_000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|r| {
                    (
                        rr::run_id.eq(id),
                        rr::application_id.eq(r.application_id),
                        rr::list.eq(r.list.as_str()),
                        rr::position.eq(r.position),
                        rr::points_scaled.eq(r.points_scaled),
                        rr::points_scale.eq(r.points_scale),
                        rr::tier.eq(r.tier.as_str()),
                        rr::outcome.eq(r.outcome.as_str()),
                        rr::facility_code.eq(r.facility_code.as_deref()),
                    )
                })
                .collect();
            crate::connection::per_backend!(tx, c => diesel::insert_into(rr::table).values(rows).execute(c))?;
        }
        audit::append(
            tx,
            at,
            &run.triggered_by.map_or(Actor::System, Actor::User),
            "ranking.compute",
            &format!("ranking:{id}"),
            &serde_json::json!({ "call": run.call.get(), "round": run.round, "results": results.len(),
                                 "inputs_hash": run.inputs_hash, "rules_hash": run.rules_hash }),
        )?;
        Ok(RankingId::new(id))
    })
}

/// How a run is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Publication {
    /// A provisional ranking (*graduatoria provvisoria*): families may object until the instant given.
    Provisional {
        /// The end of the window for objections (exclusive).
        objections_until: Timestamp,
    },
    /// The final ranking (*graduatoria definitiva*).
    Final,
}

/// Publishes a computed run: from now on it is frozen.
pub fn publish(
    conn: &mut AnyConnection,
    run: RankingId,
    how: Publication,
    by: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    let (kind, until) = match how {
        Publication::Final => ("final", None),
        Publication::Provisional { objections_until } if objections_until > at => {
            ("provisional", Some(time::to_db(objections_until)))
        }
        Publication::Provisional { .. } => {
            return Err(StoreError::Conflict(
                "objections_until: the window for objections must end after publication".into(),
            ));
        }
    };
    write_tx(conn, |tx| {
        let n = diesel::update(rn::table.find(run.get()).filter(rn::status.eq("computed")))
            .set((
                rn::status.eq("published"),
                rn::published_at.eq(time::to_db(at)),
                rn::kind.eq(kind),
                rn::objections_until.eq(until),
            ))
            .execute(tx)?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "ranking {run} is not a computed, unpublished run"
            )));
        }
        audit::append(
            tx,
            at,
            &Actor::User(by),
            "ranking.publish",
            &format!("ranking:{run}"),
            &serde_json::json!({ "kind": kind, "objections_until": until }),
        )
    })
}

/// A run as stored, without its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Id.
    pub id: RankingId,
    /// The call.
    pub call: CallId,
    /// 1, then one per waiting-list round.
    pub round: i32,
    /// `computed`, `published` or `discarded`.
    pub status: String,
    /// `provisional` or `final` (meaningful once published).
    pub kind: String,
    /// When it was published.
    pub published_at: Option<Timestamp>,
    /// Objections are accepted until then (provisional rankings only).
    pub objections_until: Option<Timestamp>,
    /// The public draw's seed.
    pub seed: String,
    /// SHA-256 of the rules.
    pub rules_hash: String,
}

type RunRow = (
    i64,
    i64,
    i32,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
);

fn to_run(r: RunRow) -> Result<Run, StoreError> {
    let (id, call, round, status, kind, published_at, until, seed, rules_hash) = r;
    Ok(Run {
        id: RankingId::new(id),
        call: CallId::new(call),
        round,
        status,
        kind,
        published_at: published_at.map(time::from_db).transpose()?,
        objections_until: until.map(time::from_db).transpose()?,
        seed,
        rules_hash,
    })
}

macro_rules! run_columns {
    () => {
        (
            rn::id,
            rn::call_id,
            rn::round,
            rn::status,
            rn::kind,
            rn::published_at,
            rn::objections_until,
            rn::seed,
            rn::rules_hash,
        )
    };
}

/// One run.
pub fn get(conn: &mut AnyConnection, run: RankingId) -> Result<Run, StoreError> {
    let row: RunRow = rn::table
        .find(run.get())
        .select(run_columns!())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("ranking run"))?;
    to_run(row)
}

/// The published runs of a call, latest first.
pub fn published(conn: &mut AnyConnection, call: CallId) -> Result<Vec<Run>, StoreError> {
    let rows: Vec<RunRow> = rn::table
        .filter(rn::call_id.eq(call.get()))
        .filter(rn::status.eq("published"))
        .order((rn::published_at.desc(), rn::id.desc()))
        .select(run_columns!())
        .load(conn)?;
    rows.into_iter().map(to_run).collect()
}

/// A run's status: `computed`, `published` or `discarded`.
pub fn status(conn: &mut AnyConnection, run: RankingId) -> Result<String, StoreError> {
    rn::table
        .find(run.get())
        .select(rn::status)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("ranking run"))
}

/// A run's results, by list and position.
pub fn results(conn: &mut AnyConnection, run: RankingId) -> Result<Vec<ResultRow>, StoreError> {
    Ok(rr::table
        .filter(rr::run_id.eq(run.get()))
        .order((rr::list.asc(), rr::position.asc()))
        .select(ResultRow::as_select())
        .load(conn)?)
}

/// Results of one application in a run.
pub fn results_of(
    conn: &mut AnyConnection,
    run: RankingId,
    application: ApplicationId,
) -> Result<Vec<ResultRow>, StoreError> {
    Ok(rr::table
        .filter(rr::run_id.eq(run.get()))
        .filter(rr::application_id.eq(application.get()))
        .order(rr::list.asc())
        .select(ResultRow::as_select())
        .load(conn)?)
}
