//! Notifications to send (e-mail, later other channels), written in the same transaction as the fact
//! they announce, and sent afterwards by a worker: a crash between the two loses nothing, and a mail
//! server that is down delays messages without failing a submission.

use diesel::prelude::*;
use jiff::Timestamp;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::outbox as ob;
use crate::time;

/// A message waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ob)]
pub struct Message {
    /// Id.
    pub id: i64,
    /// When queued (µs UTC).
    pub created_at: i64,
    /// Template name, e.g. `submission_receipt`.
    pub kind: String,
    /// Address.
    pub recipient: String,
    /// Template data as JSON.
    pub payload: String,
    /// Attempts so far.
    pub attempts: i32,
    /// Not before (µs UTC).
    pub next_attempt_at: i64,
    /// When sent.
    pub sent_at: Option<i64>,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// Queues a message, in the caller's transaction.
pub fn enqueue(
    conn: &mut AnyConnection,
    kind: &str,
    recipient: &str,
    payload: &serde_json::Value,
    at: Timestamp,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(ob::table)
        .values((
            ob::created_at.eq(time::to_db(at)),
            ob::kind.eq(kind),
            ob::recipient.eq(recipient),
            ob::payload.eq(payload.to_string()),
            ob::next_attempt_at.eq(time::to_db(at)),
        ))
        .returning(ob::id)
        .get_result(conn)?)
}

/// Messages due at `now`, oldest first.
pub fn due(conn: &mut AnyConnection, now: Timestamp, limit: i64) -> Result<Vec<Message>, StoreError> {
    Ok(ob::table
        .filter(ob::sent_at.is_null())
        .filter(ob::next_attempt_at.le(time::to_db(now)))
        .order(ob::id.asc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?)
}

/// Takes a due message for one sender until `lease_until`, so that two senders (two instances of the
/// service) never send it both; false when another took it first or it is no longer due. A sender
/// that dies holding it leaves it to be taken again once the lease ends: at least once.
pub fn claim(
    conn: &mut AnyConnection,
    id: i64,
    now: Timestamp,
    lease_until: Timestamp,
) -> Result<bool, StoreError> {
    let taken = diesel::update(
        ob::table
            .find(id)
            .filter(ob::sent_at.is_null())
            .filter(ob::next_attempt_at.le(time::to_db(now))),
    )
    .set(ob::next_attempt_at.eq(time::to_db(lease_until)))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives up on a message that can never be sent (the mail server refused the address for good, or
/// what it announces is gone): it stays in the table, with the reason, and is not tried again.
pub fn abandon(conn: &mut AnyConnection, id: i64, reason: &str) -> Result<(), StoreError> {
    diesel::update(ob::table.find(id))
        .set((
            ob::next_attempt_at.eq(i64::MAX),
            ob::last_error.eq(format!("abandoned: {reason}")),
        ))
        .execute(conn)?;
    Ok(())
}

/// One message by id.
pub fn get(conn: &mut AnyConnection, id: i64) -> Result<Message, StoreError> {
    ob::table
        .find(id)
        .select(Message::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("outbox message"))
}

/// Every message, oldest first (for tests and the operators' checks).
pub fn all(conn: &mut AnyConnection) -> Result<Vec<Message>, StoreError> {
    Ok(ob::table
        .order(ob::id.asc())
        .select(Message::as_select())
        .load(conn)?)
}

/// Marks a message sent.
pub fn mark_sent(conn: &mut AnyConnection, id: i64, at: Timestamp) -> Result<(), StoreError> {
    diesel::update(ob::table.find(id))
        .set(ob::sent_at.eq(time::to_db(at)))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt and when to try again: 1, 2, 4… minutes, at most a day.
pub fn mark_failed(conn: &mut AnyConnection, id: i64, error: &str, at: Timestamp) -> Result<(), StoreError> {
    let attempts: i32 = ob::table.find(id).select(ob::attempts).first(conn)?;
    let minutes = 1_i64 << attempts.clamp(0, 10);
    let next = time::to_db(at).saturating_add(minutes.min(24 * 60).saturating_mul(60_000_000));
    diesel::update(ob::table.find(id))
        .set((
            ob::attempts.eq(attempts.saturating_add(1)),
            ob::next_attempt_at.eq(next),
            ob::last_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}
