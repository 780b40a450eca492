//! Refuses to run on a database set up to lose acknowledged submissions. A family told "your
//! application has protocol number 2026/000123" must find it after a power cut.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::connection::AnyConnection;
use crate::error::StoreError;

/// Whether the start-up check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurabilityCheck {
    /// Production: refuse `fsync = off` and `synchronous_commit = off` on PostgreSQL.
    Enforce,
    /// Only for test suites whose throwaway server runs without fsync for speed. Set explicitly by the
    /// test harness (`GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK=1` for the binary); never a default.
    SkipForTestsOnly,
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    setting: String,
}

/// The language of PostgreSQL's messages (`lc_messages`) when it is not English: the store tells a
/// lock timeout or a dropped connection (retry later) from a fault by the message, since diesel does
/// not pass on the SQLSTATE. `None` on SQLite and on an English-speaking server.
pub fn non_english_messages(conn: &mut AnyConnection) -> Result<Option<String>, StoreError> {
    let AnyConnection::Pg(pg) = conn else {
        return Ok(None);
    };
    let rows: Vec<Setting> =
        diesel::sql_query("SELECT setting FROM pg_settings WHERE name = 'lc_messages'").load(pg)?;
    Ok(rows.into_iter().map(|r| r.setting).find(|l| {
        let l = l.to_ascii_lowercase();
        !(l.is_empty() || l == "c" || l == "posix" || l.starts_with("c.") || l.starts_with("en"))
    }))
}

/// Checks the server's settings. SQLite's are set by this program on every connection.
pub fn check(conn: &mut AnyConnection, mode: DurabilityCheck) -> Result<(), StoreError> {
    if mode == DurabilityCheck::SkipForTestsOnly {
        return Ok(());
    }
    let AnyConnection::Pg(pg) = conn else {
        return Ok(());
    };
    let mut unsafe_settings = Vec::new();
    for (name, bad) in [("fsync", "off"), ("synchronous_commit", "off")] {
        let rows: Vec<Setting> = diesel::sql_query("SELECT setting FROM pg_settings WHERE name = $1")
            .bind::<Text, _>(name)
            .load(pg)?;
        if rows.iter().any(|r| r.setting == bad) {
            unsafe_settings.push(format!("{name} = {bad}"));
        }
    }
    if unsafe_settings.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Durability(format!(
            "the PostgreSQL server runs with {}: a submission acknowledged to a family could be lost \
             in a crash. Set fsync = on and synchronous_commit = on (postgresql.conf) and restart.",
            unsafe_settings.join(" and ")
        )))
    }
}
