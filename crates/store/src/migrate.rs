//! The schema's migrations, embedded in the binary: one set per backend, kept in step (same versions,
//! checked by a test), applied by `graduatorie migrate` and at start-up of `graduatorie serve`.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::connection::AnyConnection;
use crate::error::StoreError;

/// SQLite's migrations.
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
/// PostgreSQL's migrations.
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// Applies every pending migration; returns the versions applied (empty when up to date).
pub fn run_pending(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let applied = match conn {
        AnyConnection::Sqlite(c) => c.run_pending_migrations(SQLITE),
        AnyConnection::Pg(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Versions of the migrations embedded for a backend, in order.
pub fn embedded_versions(set: &EmbeddedMigrations) -> Result<Vec<String>, StoreError> {
    use diesel::migration::MigrationSource;
    let list = MigrationSource::<diesel::sqlite::Sqlite>::migrations(set)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(list.iter().map(|m| m.name().version().to_string()).collect())
}

/// Versions applied to a database, in order.
pub fn applied_versions(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let mut list: Vec<String> = match conn {
        AnyConnection::Sqlite(c) => c.applied_migrations(),
        AnyConnection::Pg(c) => c.applied_migrations(),
    }
    .map_err(|e| StoreError::Migration(e.to_string()))?
    .iter()
    .map(ToString::to_string)
    .collect();
    list.sort();
    Ok(list)
}

/// Versions embedded for the connection's backend and not applied to it yet, in order.
pub fn pending(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let embedded = match conn {
        AnyConnection::Sqlite(_) => embedded_versions(&SQLITE)?,
        AnyConnection::Pg(_) => embedded_versions(&POSTGRES)?,
    };
    let applied = applied_versions(conn)?;
    Ok(embedded.into_iter().filter(|v| !applied.contains(v)).collect())
}
