//! Objections (*osservazioni*, *ricorsi*) to a provisional ranking: a family files one within the
//! window the publication set; a manager accepts or rejects it with a written decision. Filed text and
//! decisions are kept as given (triggers on both backends refuse changes and deletes).

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, ObjectionId, RankingId, UserId};
use jiff::Timestamp;

use crate::audit::{self, Actor};
use crate::connection::{AnyConnection, write_tx};
use crate::error::StoreError;
use crate::runs;
use crate::schema::{applications as a, objections as ob};
use crate::time;

/// Longest objection text accepted, in characters.
pub const MAX_TEXT: usize = 20_000;

/// An objection as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Objection {
    /// Id.
    pub id: ObjectionId,
    /// The provisional ranking objected to.
    pub run: RankingId,
    /// The objecting application.
    pub application: ApplicationId,
    /// When it was filed.
    pub filed_at: Timestamp,
    /// What the family wrote.
    pub body: String,
    /// `filed`, `accepted` or `rejected`.
    pub status: String,
    /// When it was decided.
    pub decided_at: Option<Timestamp>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// The written decision.
    pub decision: Option<String>,
}

fn check_text(field: &str, text: &str) -> Result<(), StoreError> {
    if text.trim().is_empty() {
        return Err(StoreError::Conflict(format!("{field}: must not be empty")));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(StoreError::Conflict(format!(
            "{field}: at most {MAX_TEXT} characters"
        )));
    }
    Ok(())
}

/// Files an objection to a provisional ranking, within its window, for an application of that call.
pub fn file(
    conn: &mut AnyConnection,
    run: RankingId,
    application: ApplicationId,
    body: &str,
    by: &Actor,
    at: Timestamp,
) -> Result<ObjectionId, StoreError> {
    check_text("body", body)?;
    write_tx(conn, |tx| {
        let r = runs::get(tx, run)?;
        let open = r.status == "published"
            && r.kind == "provisional"
            && r.objections_until.is_some_and(|until| at < until);
        if !open {
            return Err(StoreError::Conflict(format!(
                "ranking {run} does not accept objections: only a published provisional ranking does, until its window closes"
            )));
        }
        let call: Option<i64> = a::table
            .find(application.get())
            .select(a::call_id)
            .first(tx)
            .optional()?;
        if call != Some(r.call.get()) {
            return Err(StoreError::NotFound("application"));
        }
        let id = diesel::insert_into(ob::table)
            .values((
                ob::run_id.eq(run.get()),
                ob::application_id.eq(application.get()),
                ob::filed_at.eq(time::to_db(at)),
                ob::body.eq(body),
                ob::status.eq("filed"),
            ))
            .returning(ob::id)
            .get_result::<i64>(tx)?;
        // The text may hold personal facts: the audit log names the objection only.
        audit::append(
            tx,
            at,
            by,
            "objection.file",
            &format!("objection:{id}"),
            &serde_json::json!({ "ranking": run.get(), "application": application.get() }),
        )?;
        Ok(ObjectionId::new(id))
    })
}

/// Accepts or rejects a filed objection with a written decision. A decision is final.
pub fn decide(
    conn: &mut AnyConnection,
    objection: ObjectionId,
    accepted: bool,
    decision: &str,
    by: UserId,
    at: Timestamp,
) -> Result<(), StoreError> {
    check_text("decision", decision)?;
    let status = if accepted { "accepted" } else { "rejected" };
    write_tx(conn, |tx| {
        let n = diesel::update(ob::table.find(objection.get()).filter(ob::status.eq("filed")))
            .set((
                ob::status.eq(status),
                ob::decided_at.eq(time::to_db(at)),
                ob::decided_by.eq(by.get()),
                ob::decision.eq(decision),
            ))
            .execute(tx)?;
        if n == 0 {
            let exists = ob::table.find(objection.get()).count().get_result::<i64>(tx)? > 0;
            return Err(if exists {
                StoreError::Conflict(format!("objection {objection} has already been decided"))
            } else {
                StoreError::NotFound("objection")
            });
        }
        audit::append(
            tx,
            at,
            &Actor::User(by),
            "objection.decide",
            &format!("objection:{objection}"),
            &serde_json::json!({ "status": status }),
        )
    })
}

type Row = (
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

macro_rules! columns {
    () => {
        (
            ob::id,
            ob::run_id,
            ob::application_id,
            ob::filed_at,
            ob::body,
            ob::status,
            ob::decided_at,
            ob::decided_by,
            ob::decision,
        )
    };
}

fn to_objection(r: Row) -> Result<Objection, StoreError> {
    let (id, run, application, filed_at, body, status, decided_at, decided_by, decision) = r;
    Ok(Objection {
        id: ObjectionId::new(id),
        run: RankingId::new(run),
        application: ApplicationId::new(application),
        filed_at: time::from_db(filed_at)?,
        body,
        status,
        decided_at: decided_at.map(time::from_db).transpose()?,
        decided_by: decided_by.map(UserId::new),
        decision,
    })
}

/// The objections to a ranking, in the order they were filed.
pub fn of_run(conn: &mut AnyConnection, run: RankingId) -> Result<Vec<Objection>, StoreError> {
    let rows: Vec<Row> = ob::table
        .filter(ob::run_id.eq(run.get()))
        .order(ob::id.asc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_objection).collect()
}

/// An application's objections, in the order they were filed.
pub fn of_application(
    conn: &mut AnyConnection,
    application: ApplicationId,
) -> Result<Vec<Objection>, StoreError> {
    let rows: Vec<Row> = ob::table
        .filter(ob::application_id.eq(application.get()))
        .order(ob::id.asc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_objection).collect()
}
