//! Database commands: `migrate` (apply the embedded schema migrations) and `copy-db` (move every row
//! to another, empty database, e.g. from the embedded SQLite file to PostgreSQL).

use clap::Args;
use graduatorie_store::{DatabaseUrl, DurabilityCheck, Store, StoreConfig};

/// The database to use.
#[derive(Debug, Args)]
pub struct DatabaseArg {
    /// `sqlite://PATH` (the embedded default) or `postgres://USER:PASSWORD@HOST:PORT/DB`.
    #[arg(
        long = "database",
        visible_alias = "database-url",
        env = "GRADUATORIE_DATABASE_URL",
        default_value = "sqlite://data/graduatorie.db"
    )]
    pub url: String,
}

/// The durability check, skipped only by the explicit test-only setting
/// `GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK=1` (docs/operations.md).
pub fn durability_from_env() -> DurabilityCheck {
    if std::env::var("GRADUATORIE_TEST_ONLY_SKIP_DURABILITY_CHECK").is_ok_and(|v| v == "1") {
        DurabilityCheck::SkipForTestsOnly
    } else {
        DurabilityCheck::Enforce
    }
}

/// Opens a database.
pub fn open(url: &str) -> Result<Store, String> {
    let url = DatabaseUrl::parse(url).map_err(|e| e.to_string())?;
    let mut config = StoreConfig::new(url);
    config.durability = durability_from_env();
    Store::open(&config).map_err(|e| e.to_string())
}

/// `graduatorie migrate`.
pub fn migrate(db: &DatabaseArg) -> Result<(), String> {
    let store = open(&db.url)?;
    let applied = store.migrate().map_err(|e| e.to_string())?;
    let url = DatabaseUrl::parse(&db.url).map_err(|e| e.to_string())?.redacted();
    if applied.is_empty() {
        crate::println_out(&format!("{url}: schema up to date"));
    } else {
        crate::println_out(&format!("{url}: applied {}", applied.join(", ")));
    }
    Ok(())
}

/// `graduatorie copy-db`.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy from.
    #[arg(long)]
    pub from: String,
    /// The database to copy into: new or empty; it is migrated first.
    #[arg(long)]
    pub to: String,
}

/// Copies every row; the target is migrated first and must be empty. The source is only read: it
/// must already be at the schema version of this binary (`graduatorie migrate` says so).
pub fn copy(args: &CopyArgs) -> Result<(), String> {
    let source = DatabaseUrl::parse(&args.from).map_err(|e| format!("--from: {e}"))?;
    if let Some(file) = source.sqlite_file()
        && !file.is_file()
    {
        // Opening would create an empty database in its place.
        return Err(format!("--from: {}: no such database file", source.redacted()));
    }
    let from = open(&args.from)?;
    let to = open(&args.to)?;
    to.migrate().map_err(|e| e.to_string())?;
    let mut src = from.conn().map_err(|e| e.to_string())?;
    let mut dst = to.conn().map_err(|e| e.to_string())?;
    let report = graduatorie_store::copy::copy(&mut src, &mut dst).map_err(|e| format!("copy-db: {e}"))?;
    for (table, rows) in report {
        crate::println_out(&format!("{table}: {rows} rows"));
    }
    Ok(())
}
