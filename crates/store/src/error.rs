//! The store's one error type. Messages name what failed (a table, a constraint, a setting) and never
//! carry personal data: values a family typed are not echoed back.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL or a setting is wrong.
    #[error("{0}")]
    Config(String),
    /// The database cannot be reached or opened.
    #[error("cannot connect to the database {0}")]
    Connect(String),
    /// The database is set up so that acknowledged data could be lost (see `durability`).
    #[error("unsafe database settings: {0}")]
    Durability(String),
    /// Applying migrations failed.
    #[error("migrating the database: {0}")]
    Migration(String),
    /// What was asked for does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request contradicts the state of the data (a closed call, an annulled entry…).
    #[error("{0}")]
    Conflict(String),
    /// The database refused a change: a constraint or a trigger protecting published data.
    #[error("refused by the database: {0}")]
    Refused(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
}

impl StoreError {
    /// Whether retrying later may succeed: the database is unreachable, its pool is exhausted, or
    /// a transaction lost a race (a serialization failure, SQLite's busy or locked database).
    pub fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match self {
            StoreError::Connect(_) => true,
            StoreError::Database(E::DatabaseError(
                K::SerializationFailure | K::ClosedConnection | K::UnableToSendCommand,
                _,
            )) => true,
            StoreError::Database(E::DatabaseError(_, info)) => {
                // diesel does not pass on PostgreSQL's SQLSTATE for these, only the message, in
                // the server's `lc_messages` language (docs/operations.md asks for English).
                let m = info.message();
                [
                    "database is locked",
                    "database is busy",
                    "lock timeout",
                    "deadlock detected",
                    "too many connections",
                    "terminating connection",
                    "the database system is",
                    "server closed the connection",
                    "could not receive data from server",
                ]
                .iter()
                .any(|t| m.contains(t))
            }
            _ => false,
        }
    }
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => StoreError::NotFound("row"),
            // A trigger's RAISE and a CHECK both land here; the message is ours or names the
            // constraint, never the row's values.
            E::DatabaseError(
                K::UniqueViolation
                | K::ForeignKeyViolation
                | K::CheckViolation
                | K::NotNullViolation
                | K::RestrictViolation,
                ref info,
            ) => StoreError::Refused(info.message().to_owned()),
            E::DatabaseError(K::Unknown, ref info) if is_trigger_refusal(info.message()) => {
                StoreError::Refused(info.message().to_owned())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2_error::PoolError> for StoreError {
    fn from(e: r2d2_error::PoolError) -> Self {
        StoreError::Connect(e.to_string())
    }
}

/// r2d2's error type under a name that says what it is.
mod r2d2_error {
    pub use diesel::r2d2::PoolError;
}

/// SQLite reports a trigger's RAISE(ABORT) as an unknown error: these words mark our triggers'
/// messages (every message in the migrations' RAISE calls contains one).
fn is_trigger_refusal(message: &str) -> bool {
    [
        "immutable",
        "cannot be",
        "append-only",
        "frozen",
        "only move forward",
        "kept",
        "answered once",
    ]
    .iter()
    .any(|m| message.contains(m))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    /// Every message a SQLite trigger raises is recognised as a refusal (PostgreSQL's carry an
    /// error code instead).
    #[test]
    fn every_trigger_message_is_recognised() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let sql = std::fs::read_to_string(entry.unwrap().path().join("up.sql")).unwrap();
            for part in sql.split("RAISE(ABORT, '").skip(1) {
                let message = part.split('\'').next().unwrap();
                assert!(super::is_trigger_refusal(message), "not recognised: {message}");
                seen += 1;
            }
        }
        assert!(seen >= 18, "only {seen} trigger messages found");
    }
}
