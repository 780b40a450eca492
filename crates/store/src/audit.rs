//! The audit log: who did what to which record, append-only (triggers refuse updates and deletes on
//! both backends). Subjects are ids and protocol numbers; details never hold personal data.

use diesel::prelude::*;
use graduatorie_domain::UserId;
use jiff::Timestamp;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::audit_log as al;
use crate::time;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A member of staff.
    User(UserId),
    /// A family through the public service (identified by the application, not by name).
    Family,
    /// The system itself (scheduled work, migrations).
    System,
}

impl Actor {
    pub(crate) fn as_text(&self) -> String {
        match self {
            Actor::User(id) => format!("user:{id}"),
            Actor::Family => "family".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = al)]
pub struct AuditEntry {
    /// Order of entry.
    pub id: i64,
    /// When (µs UTC).
    pub at: i64,
    /// `user:ID`, `family` or `system`.
    pub actor: String,
    /// What was done, e.g. `application.submit`.
    pub action: String,
    /// On what, e.g. `application:42`.
    pub subject: String,
    /// Details as JSON (ids, counts, hashes).
    pub detail: String,
}

/// Appends an entry, in the caller's transaction.
pub fn append(
    conn: &mut AnyConnection,
    at: Timestamp,
    actor: &Actor,
    action: &str,
    subject: &str,
    detail: &serde_json::Value,
) -> Result<(), StoreError> {
    diesel::insert_into(al::table)
        .values((
            al::at.eq(time::to_db(at)),
            al::actor.eq(actor.as_text()),
            al::action.eq(action),
            al::subject.eq(subject),
            al::detail.eq(detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Entries about a subject, oldest first.
pub fn for_subject(conn: &mut AnyConnection, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
    Ok(al::table
        .filter(al::subject.eq(subject))
        .order(al::id.asc())
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// How many entries there are.
pub fn count(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    Ok(al::table.count().get_result(conn)?)
}
