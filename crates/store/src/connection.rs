//! Connections: one enum over SQLite and PostgreSQL (diesel's `MultiConnection`), chosen by the
//! database URL, a pool, the per-connection settings SQLite needs, and the two kinds of transaction
//! the store uses (a write that serialises with other writers, a read of one consistent snapshot).

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool, PooledConnection};

use crate::error::StoreError;

pub use multi::AnyConnection;

// Private module: the derive generates helper items that need no documentation.
mod multi {
    use diesel::prelude::*;

    /// A connection to either backend. Queries written once against this type run on both.
    #[derive(diesel::MultiConnection)]
    pub enum AnyConnection {
        /// PostgreSQL (production).
        Pg(PgConnection),
        /// SQLite (embedded default).
        Sqlite(SqliteConnection),
    }
}

/// Runs an expression with the backend's own connection type, for the few statements diesel cannot
/// express over both at once (multi-row inserts).
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::connection::AnyConnection::Pg($c) => $body,
            $crate::connection::AnyConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use per_backend;

/// Which database engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://PATH` (a file; `sqlite://file:NAME?mode=memory&cache=shared` for tests).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

/// A parsed database URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver is given: the SQLite path or URI, or the whole PostgreSQL URL.
    target: String,
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config(
                    "database URL: sqlite:// needs a file path".into(),
                ));
            }
            Ok(Self {
                backend: Backend::Sqlite,
                target: path.to_owned(),
            })
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self {
                backend: Backend::Postgres,
                target: url.to_owned(),
            })
        } else {
            Err(StoreError::Config(
                "database URL: must start with sqlite:// or postgres:// (e.g. sqlite://data/graduatorie.db)"
                    .into(),
            ))
        }
    }
    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }
    /// The file of a SQLite database (not of an in-memory or `file:` URI one).
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        (self.backend == Backend::Sqlite && !self.target.starts_with("file:") && self.target != ":memory:")
            .then(|| std::path::Path::new(&self.target))
    }
    /// The URL with any password replaced by `***`, for messages and logs.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => redact_password(&self.target),
        }
    }
    /// Opens one connection of the right kind and applies the per-connection settings.
    pub fn connect(&self) -> Result<AnyConnection, StoreError> {
        let mut conn = match self.backend {
            Backend::Sqlite => {
                if let Some(dir) = sqlite_file_parent(&self.target) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Config(format!("cannot create the folder {}: {e}", dir.display()))
                    })?;
                }
                AnyConnection::Sqlite(
                    SqliteConnection::establish(&self.target)
                        .map_err(|e| StoreError::Connect(format!("{}: {e}", self.redacted())))?,
                )
            }
            Backend::Postgres => AnyConnection::Pg(
                PgConnection::establish(&self.target)
                    .map_err(|e| StoreError::Connect(format!("{}: {e}", self.redacted())))?,
            ),
        };
        configure(&mut conn)?;
        Ok(conn)
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

fn sqlite_file_parent(target: &str) -> Option<&Path> {
    if target.starts_with("file:") || target == ":memory:" {
        return None;
    }
    Path::new(target).parent().filter(|p| !p.as_os_str().is_empty())
}

/// SQLite's settings are per connection and some are off by default (foreign keys!).
/// `synchronous = FULL`: a submission acknowledged to a family is on disk.
/// On both, a statement waits at most 10 seconds for a lock (SQLite's busy timeout, PostgreSQL's
/// `lock_timeout`) and then fails as transient: the caller is told to retry, rather than waiting
/// behind a long operation with a connection held.
fn configure(conn: &mut AnyConnection) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => c.batch_execute(
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = FULL;",
        )?,
        AnyConnection::Pg(c) => c.batch_execute("SET lock_timeout = '10s'")?,
    }
    Ok(())
}

/// The r2d2 manager: establishes the variant the URL names (diesel's own manager would try each
/// backend in turn).
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = StoreError;

    fn connect(&self) -> Result<AnyConnection, StoreError> {
        self.url.connect()
    }
    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        conn.batch_execute("SELECT 1").map_err(StoreError::from)
    }
    fn has_broken(&self, _conn: &mut AnyConnection) -> bool {
        false
    }
}

/// A pool of connections to one database.
pub type ConnectionPool = Pool<Manager>;
/// A connection borrowed from the pool.
pub type PooledConn = PooledConnection<Manager>;

/// Builds a pool of `size` connections.
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<ConnectionPool, StoreError> {
    r2d2::Pool::builder()
        .max_size(size.max(1))
        // A request waits at most this long for a free connection before it is told to retry.
        .connection_timeout(Duration::from_secs(5))
        .build(Manager { url: url.clone() })
        .map_err(|e| StoreError::Connect(format!("{}: {e}", url.redacted())))
}

/// Runs `f` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so writers queue on
/// the busy timeout instead of failing when a read lock would have to be upgraded; on PostgreSQL the
/// rows a writer updates (the protocol counter) serialise it with the others.
pub fn write_tx<T, F>(conn: &mut AnyConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
{
    let begin = match conn {
        AnyConnection::Sqlite(_) => "BEGIN IMMEDIATE",
        AnyConnection::Pg(_) => "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE",
    };
    run_tx(conn, begin, f)
}

/// Runs `f` on one consistent snapshot: `REPEATABLE READ` on PostgreSQL; on SQLite in WAL mode a read
/// transaction sees one snapshot from its first read.
pub fn snapshot_tx<T, F>(conn: &mut AnyConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
{
    let begin = match conn {
        AnyConnection::Sqlite(_) => "BEGIN DEFERRED",
        AnyConnection::Pg(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    };
    run_tx(conn, begin, f)
}

fn run_tx<T, F>(conn: &mut AnyConnection, begin: &str, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut AnyConnection) -> Result<T, StoreError>,
{
    // The enum's transaction manager delegates to the inner connection's: beginning, committing and
    // rolling back on the inner connection keep the one transaction state diesel tracks.
    match conn {
        AnyConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, begin)?,
        AnyConnection::Pg(c) => AnsiTransactionManager::begin_transaction_sql(c, begin)?,
    }
    match f(conn) {
        Ok(value) => {
            match conn {
                AnyConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
                AnyConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(e) => {
            // The error that matters is the first one; after a failed rollback diesel marks the
            // connection broken and the pool drops it.
            let _ = match conn {
                AnyConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                AnyConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            Err(e)
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/g.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            DatabaseUrl::parse("postgres://u:secret@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        let url = DatabaseUrl::parse("postgresql://app:s3cret@db.example:5432/grad").unwrap();
        assert_eq!(url.redacted(), "postgresql://app:***@db.example:5432/grad");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
