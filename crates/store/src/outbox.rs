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
