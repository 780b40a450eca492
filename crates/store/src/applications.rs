//! Applications (*domande*): submitted with a protocol number in the same transaction, amended until
//! the deadline with every version kept, withdrawn, and read back for ranking from one snapshot.
//!
//! The answers are stored as the JSON object the rules declare (the rules crate checks them before
//! they get here); preferences as a JSON list of facility codes in order.

use diesel::prelude::*;
use graduatorie_domain::{
    ApplicationId, CallId, CodiceFiscale, FacilityCode, OrganisationId, ProtocolNumber, UserId,
};
use jiff::Timestamp;

use crate::audit::{self, Actor};
use crate::calls::{self, Call, CallStatus};
use crate::connection::{AnyConnection, snapshot_tx, write_tx};
use crate::error::StoreError;
use crate::outbox;
use crate::protocol::{self, Subject};
use crate::schema::{
    application_events as ev, application_versions as av, applications as a, idempotency_keys as ik,
    late_batches as lb,
};
use crate::time;

mod group;
pub use group::submit_group_in_tx;

/// A family's application as submitted or amended.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// The call.
    pub call: CallId,
    /// The answers, a JSON object keyed by the regulation's input names.
    pub answers: serde_json::Value,
    /// Facilities in order of preference.
    pub preferences: Vec<FacilityCode>,
    /// Links siblings' applications (never published).
    pub family: Option<String>,
    /// The operator who entered it at the front desk; `None` when the family did online.
    pub by: Option<UserId>,
    /// The applicant's codice fiscale: who may read, amend and withdraw it online.
    pub owner: Option<CodiceFiscale>,
    /// The municipality whose front desk may see it (the family's town in a union).
    pub municipality: Option<OrganisationId>,
    /// Where the receipt is sent.
    pub contact_email: Option<String>,
    /// The client's idempotency key, remembered with the submission in the same transaction.
    pub idempotency: Option<IdempotencyKey>,
}

/// An `Idempotency-Key` as remembered: scoped to whoever sent it, with the hash of the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Who sent it (a pseudonymous id of the family or operator).
    pub owner: String,
    /// The key as sent.
    pub key: String,
    /// SHA-256 (hex) of the request it came with.
    pub request_sha256: String,
}

/// The outbox message kind of a submission receipt.
pub const RECEIPT_MESSAGE: &str = "submission_receipt";

/// What a family is told on submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The application's id.
    pub application: ApplicationId,
    /// Its protocol number.
    pub protocol: ProtocolNumber,
    /// 0 for the call's deadline, N for late batch N.
    pub batch: i32,
    /// The version just saved (1 on submission).
    pub version: i32,
}

/// An application's current state.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    /// Id.
    pub id: ApplicationId,
    /// Call.
    pub call: CallId,
    /// Protocol number of the submission.
    pub protocol: ProtocolNumber,
    /// Batch (0 on time).
    pub batch: i32,
    /// `submitted`, `withdrawn`, `excluded` or `annulled`.
    pub status: String,
    /// Current version number.
    pub version: i32,
    /// Family key.
    pub family: Option<String>,
    /// When first submitted.
    pub submitted_at: Timestamp,
    /// Answers of the current version.
    pub answers: serde_json::Value,
    /// Preferences of the current version.
    pub preferences: Vec<String>,
    /// The applicant's codice fiscale, when known.
    pub owner: Option<String>,
    /// The municipality whose front desk may see it.
    pub municipality: Option<OrganisationId>,
    /// Where receipts are sent.
    pub contact_email: Option<String>,
}

fn check_submission(s: &Submission) -> Result<(String, String), StoreError> {
    if !s.answers.is_object() {
        return Err(StoreError::Conflict("answers: must be a JSON object".into()));
    }
    let prefs: Vec<&str> = s.preferences.iter().map(FacilityCode::as_str).collect();
    for (i, p) in prefs.iter().enumerate() {
        if prefs.iter().take(i).any(|q| q == p) {
            return Err(StoreError::Conflict(format!(
                "preferences: facility {p} is listed twice"
            )));
        }
    }
    let prefs = serde_json::to_string(&prefs).map_err(|e| StoreError::Conflict(e.to_string()))?;
    Ok((s.answers.to_string(), prefs))
}

/// The batch an application submitted at `at` belongs to, or why the call does not accept it.
fn batch_at(conn: &mut AnyConnection, call: &Call, at: Timestamp) -> Result<i32, StoreError> {
    if call.status == CallStatus::Draft || at < call.opens_at {
        return Err(StoreError::Conflict(format!("call {} is not open yet", call.id)));
    }
    if call.status == CallStatus::Open && at < call.closes_at {
        return Ok(0);
    }
    if call.status != CallStatus::Ranked
        && let Some(batch) = calls::open_late_batch(conn, call.id, at)?
    {
        return Ok(batch);
    }
    Err(StoreError::Conflict(format!(
        "call {} is closed: applications are no longer accepted",
        call.id
    )))
}

/// Registers an application: protocol number, first version, status history and audit entry, all in
/// one transaction. Nothing is kept if any step fails, and the protocol number is not consumed.
pub fn submit(conn: &mut AnyConnection, s: &Submission, at: Timestamp) -> Result<Submitted, StoreError> {
    write_tx(conn, |tx| submit_in_tx(tx, s, at))
}

/// [`submit`] inside a write transaction the caller holds (the batching writer groups several).
pub fn submit_in_tx(
    conn: &mut AnyConnection,
    s: &Submission,
    at: Timestamp,
) -> Result<Submitted, StoreError> {
    let (answers, prefs) = check_submission(s)?;
    let call = calls::get(conn, s.call)?;
    let batch = batch_at(conn, &call, at)?;
    // The application row carries its protocol number and the register entry names the application:
    // take the number, insert the application, then write the entry.
    let entry = protocol::take_next(conn, call.organisation, at)?;
    let id = diesel::insert_into(a::table)
        .values((
            a::call_id.eq(call.id.get()),
            a::organisation_id.eq(call.organisation.get()),
            a::protocol_year.eq(i32::from(entry.year())),
            a::protocol_number.eq(i64::from(entry.number())),
            a::batch.eq(batch),
            a::status.eq("submitted"),
            a::current_version.eq(1),
            a::family.eq(s.family.as_deref()),
            a::submitted_at.eq(time::to_db(at)),
            a::owner_cf.eq(s.owner.as_ref().map(CodiceFiscale::as_str)),
            a::municipality_id.eq(s.municipality.map(OrganisationId::get)),
            a::contact_email.eq(s.contact_email.as_deref()),
        ))
        .returning(a::id)
        .get_result::<i64>(conn)?;
    protocol::record(
        conn,
        call.organisation,
        entry,
        at,
        Subject::Application,
        Some(ApplicationId::new(id)),
    )?;
    save_version(conn, id, 1, &answers, &prefs, at, s.by)?;
    event(conn, id, "submitted", at, s.by, None)?;
    let actor = s.by.map_or(Actor::Family, Actor::User);
    audit::append(
        conn,
        at,
        &actor,
        "application.submit",
        &format!("application:{id}"),
        &serde_json::json!({ "protocol": entry.to_string(), "call": call.id.get(), "batch": batch }),
    )?;
    if let Some(k) = &s.idempotency {
        remember_key(conn, k, id, at)?;
    }
    if let Some(to) = &s.contact_email {
        outbox::enqueue(conn, RECEIPT_MESSAGE, to, &receipt_payload(id, 1), at)?;
    }
    Ok(Submitted {
        application: ApplicationId::new(id),
        protocol: entry,
        batch,
        version: 1,
    })
}

/// What the receipt mail needs: the mailer reads the rest from the application at sending time, so
/// the outbox holds no answers.
pub(crate) fn receipt_payload(application: i64, version: i32) -> serde_json::Value {
    serde_json::json!({ "application": application, "version": version })
}

fn remember_key(
    conn: &mut AnyConnection,
    k: &IdempotencyKey,
    id: i64,
    at: Timestamp,
) -> Result<(), StoreError> {
    diesel::insert_into(ik::table)
        .values((
            ik::owner.eq(&k.owner),
            ik::key.eq(&k.key),
            ik::request_sha256.eq(&k.request_sha256),
            ik::application_id.eq(id),
            ik::created_at.eq(time::to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The application an idempotency key was used for, with the hash of the request it came with.
pub fn by_idempotency_key(
    conn: &mut AnyConnection,
    owner: &str,
    key: &str,
) -> Result<Option<(String, ApplicationId)>, StoreError> {
    let row: Option<(String, i64)> = ik::table
        .find((owner, key))
        .select((ik::request_sha256, ik::application_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(hash, id)| (hash, ApplicationId::new(id))))
}

fn save_version(
    conn: &mut AnyConnection,
    id: i64,
    version: i32,
    answers: &str,
    prefs: &str,
    at: Timestamp,
    by: Option<UserId>,
) -> Result<(), StoreError> {
    diesel::insert_into(av::table)
        .values((
            av::application_id.eq(id),
            av::version.eq(version),
            av::answers.eq(answers),
            av::preferences.eq(prefs),
            av::saved_at.eq(time::to_db(at)),
            av::saved_by.eq(by.map(UserId::get)),
        ))
        .execute(conn)?;
    Ok(())
}

fn event(
    conn: &mut AnyConnection,
    id: i64,
    status: &str,
    at: Timestamp,
    by: Option<UserId>,
    reason: Option<&str>,
) -> Result<(), StoreError> {
    diesel::insert_into(ev::table)
        .values((
            ev::application_id.eq(id),
            ev::status.eq(status),
            ev::at.eq(time::to_db(at)),
            ev::by_user.eq(by.map(UserId::get)),
            ev::reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// The deadline of an application's batch.
fn deadline(conn: &mut AnyConnection, call: &Call, batch: i32) -> Result<Timestamp, StoreError> {
    if batch == 0 {
        return Ok(call.closes_at);
    }
    let closes: i64 = lb::table
        .find((call.id.get(), batch))
        .select(lb::closes_at)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("late batch"))?;
    time::from_db(closes)
}

/// Saves a new version of an application, until its batch's deadline. The earlier versions stay.
pub fn amend(
    conn: &mut AnyConnection,
    id: ApplicationId,
    s: &Submission,
    at: Timestamp,
) -> Result<Submitted, StoreError> {
    let (answers, prefs) = check_submission(s)?;
    write_tx(conn, |tx| {
        let (call_id, status, version, batch, year, number): (i64, String, i32, i32, i32, i64) = a::table
            .find(id.get())
            .select((
                a::call_id,
                a::status,
                a::current_version,
                a::batch,
                a::protocol_year,
                a::protocol_number,
            ))
            .first(tx)
            .optional()?
            .ok_or(StoreError::NotFound("application"))?;
        if call_id != s.call.get() {
            return Err(StoreError::Conflict(format!(
                "application {id} belongs to another call"
            )));
        }
        if status != "submitted" {
            return Err(StoreError::Conflict(format!(
                "application {id} is {status}: it cannot be amended"
            )));
        }
        let call = calls::get(tx, s.call)?;
        if call.status != CallStatus::Open && batch == 0 || at >= deadline(tx, &call, batch)? {
            return Err(StoreError::Conflict(format!(
                "application {id}: the deadline for changes has passed"
            )));
        }
        let next = version + 1;
        let entry = protocol::register(tx, call.organisation, at, Subject::Amendment, Some(id))?;
        save_version(tx, id.get(), next, &answers, &prefs, at, s.by)?;
        diesel::update(a::table.find(id.get()))
            .set((a::current_version.eq(next), a::family.eq(s.family.as_deref())))
            .execute(tx)?;
        if let Some(email) = &s.contact_email {
            diesel::update(a::table.find(id.get()))
                .set(a::contact_email.eq(email))
                .execute(tx)?;
        }
        event(tx, id.get(), "amended", at, s.by, None)?;
        // The new version gets its own receipt, at the address now on the application.
        let to: Option<String> = a::table.find(id.get()).select(a::contact_email).first(tx)?;
        if let Some(to) = to {
            outbox::enqueue(tx, RECEIPT_MESSAGE, &to, &receipt_payload(id.get(), next), at)?;
        }
        audit::append(
            tx,
            at,
            &s.by.map_or(Actor::Family, Actor::User),
            "application.amend",
            &format!("application:{id}"),
            &serde_json::json!({ "version": next, "protocol": entry.to_string() }),
        )?;
        Ok(Submitted {
            application: id,
            protocol: protocol::protocol_number(year, number)?,
            batch,
            version: next,
        })
    })
}

/// Withdraws an application at the family's request (or an operator's on its behalf).
pub fn withdraw(
    conn: &mut AnyConnection,
    id: ApplicationId,
    by: Option<UserId>,
    reason: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    write_tx(conn, |tx| {
        let n = diesel::update(a::table.find(id.get()).filter(a::status.eq("submitted")))
            .set(a::status.eq("withdrawn"))
            .execute(tx)?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "application {id} is not an active application"
            )));
        }
        event(tx, id.get(), "withdrawn", at, by, Some(reason))?;
        audit::append(
            tx,
            at,
            &by.map_or(Actor::Family, Actor::User),
            "application.withdraw",
            &format!("application:{id}"),
            &serde_json::json!({}),
        )
    })
}

type Row = (
    i64,
    i64,
    i32,
    i64,
    i32,
    String,
    i32,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

fn to_application(r: Row) -> Result<Application, StoreError> {
    let answers =
        serde_json::from_str(&r.9).map_err(|e| StoreError::Conflict(format!("stored answers: {e}")))?;
    let preferences =
        serde_json::from_str(&r.10).map_err(|e| StoreError::Conflict(format!("stored preferences: {e}")))?;
    Ok(Application {
        id: ApplicationId::new(r.0),
        call: CallId::new(r.1),
        protocol: protocol::protocol_number(r.2, r.3)?,
        batch: r.4,
        status: r.5,
        version: r.6,
        family: r.7,
        submitted_at: time::from_db(r.8)?,
        answers,
        preferences,
        owner: r.11,
        municipality: r.12.map(OrganisationId::new),
        contact_email: r.13,
    })
}

macro_rules! current {
    () => {
        a::table.inner_join(
            av::table.on(av::application_id
                .eq(a::id)
                .and(av::version.eq(a::current_version))),
        )
    };
}
macro_rules! columns {
    () => {
        (
            a::id,
            a::call_id,
            a::protocol_year,
            a::protocol_number,
            a::batch,
            a::status,
            a::current_version,
            a::family,
            a::submitted_at,
            av::answers,
            av::preferences,
            a::owner_cf,
            a::municipality_id,
            a::contact_email,
        )
    };
}

/// An application with its current version.
pub fn get(conn: &mut AnyConnection, id: ApplicationId) -> Result<Application, StoreError> {
    let row: Row = current!()
        .filter(a::id.eq(id.get()))
        .select(columns!())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("application"))?;
    to_application(row)
}

/// The applications whose applicant is `owner`, newest first.
pub fn of_owner(conn: &mut AnyConnection, owner: &CodiceFiscale) -> Result<Vec<Application>, StoreError> {
    let rows: Vec<Row> = current!()
        .filter(a::owner_cf.eq(owner.as_str()))
        .order(a::id.desc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_application).collect()
}

/// What a front desk may look for: applications of its municipalities, optionally of one call, one
/// protocol number or one applicant.
#[derive(Debug, Clone, Default)]
pub struct DeskQuery {
    /// Only this call.
    pub call: Option<CallId>,
    /// Only this protocol number.
    pub protocol: Option<ProtocolNumber>,
    /// Only this applicant.
    pub owner: Option<CodiceFiscale>,
}

/// Applications entered for or belonging to `municipalities`, newest first, at most `limit`.
pub fn of_municipalities(
    conn: &mut AnyConnection,
    municipalities: &[OrganisationId],
    query: &DeskQuery,
    limit: i64,
) -> Result<Vec<Application>, StoreError> {
    let ids: Vec<i64> = municipalities.iter().map(|m| m.get()).collect();
    let mut q = current!()
        .filter(a::municipality_id.eq_any(ids))
        .select(columns!())
        .order(a::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(call) = query.call {
        q = q.filter(a::call_id.eq(call.get()));
    }
    if let Some(p) = query.protocol {
        q = q
            .filter(a::protocol_year.eq(i32::from(p.year())))
            .filter(a::protocol_number.eq(i64::from(p.number())));
    }
    if let Some(cf) = &query.owner {
        q = q.filter(a::owner_cf.eq(cf.as_str().to_owned()));
    }
    let rows: Vec<Row> = q.load(conn)?;
    rows.into_iter().map(to_application).collect()
}

/// Every version of an application, oldest first: (version, answers, preferences, saved at).
pub fn versions(
    conn: &mut AnyConnection,
    id: ApplicationId,
) -> Result<Vec<(i32, serde_json::Value, Timestamp)>, StoreError> {
    let rows: Vec<(i32, String, i64)> = av::table
        .filter(av::application_id.eq(id.get()))
        .order(av::version.asc())
        .select((av::version, av::answers, av::saved_at))
        .load(conn)?;
    rows.into_iter()
        .map(|(v, answers, at)| {
            let answers = serde_json::from_str(&answers)
                .map_err(|e| StoreError::Conflict(format!("stored answers: {e}")))?;
            Ok((v, answers, time::from_db(at)?))
        })
        .collect()
}

/// The status history of an application, oldest first: (status, at).
pub fn history(conn: &mut AnyConnection, id: ApplicationId) -> Result<Vec<(String, Timestamp)>, StoreError> {
    let rows: Vec<(String, i64)> = ev::table
        .filter(ev::application_id.eq(id.get()))
        .order(ev::id.asc())
        .select((ev::status, ev::at))
        .load(conn)?;
    rows.into_iter()
        .map(|(s, at)| Ok((s, time::from_db(at)?)))
        .collect()
}

/// The active applications of a call with their current versions, read from one consistent snapshot
/// (an application submitted meanwhile is either wholly in or wholly out), in protocol order.
pub fn for_ranking(conn: &mut AnyConnection, call: CallId) -> Result<Vec<Application>, StoreError> {
    snapshot_tx(conn, |tx| {
        let rows: Vec<Row> = current!()
            .filter(a::call_id.eq(call.get()))
            .filter(a::status.eq("submitted"))
            .order((a::protocol_year.asc(), a::protocol_number.asc()))
            .select(columns!())
            .load(tx)?;
        rows.into_iter().map(to_application).collect()
    })
}
