//! Throwaway databases for tests of this crate and of the crates above it (feature `testing`): a
//! SQLite file in the temporary folder, or a new database on the PostgreSQL server named by
//! `GRADUATORIE_TEST_POSTGRES` (which `make test` provides). Dropped with the value.

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::connection::SimpleConnection;

use crate::{Backend, DatabaseUrl, StoreError};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A database that exists as long as this value.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Files(Vec<std::path::PathBuf>),
    PgDatabase { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Files(files) => {
                for f in files {
                    let _ = std::fs::remove_file(f);
                }
            }
            Cleanup::PgDatabase { admin_url, name } => {
                if let Ok(mut admin) = DatabaseUrl::parse(admin_url).and_then(|u| u.connect()) {
                    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl TestDatabase {
    /// A new, empty database of the given backend. `prefix` (letters and `_`) names it, so a leftover
    /// says which tests made it.
    pub fn new(backend: Backend, prefix: &str) -> Result<Self, StoreError> {
        let name = unique_name(prefix);
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                let files = ["", "-wal", "-shm"]
                    .iter()
                    .map(|s| std::path::PathBuf::from(format!("{}{s}", path.display())))
                    .collect();
                Ok(Self {
                    url: format!("sqlite://{}", path.display()),
                    cleanup: Cleanup::Files(files),
                })
            }
            Backend::Postgres => {
                let admin_url = postgres_admin_url()?;
                let mut admin = DatabaseUrl::parse(&admin_url)?.connect()?;
                admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
                let (base, _) = admin_url.rsplit_once('/').ok_or_else(|| {
                    StoreError::Config("GRADUATORIE_TEST_POSTGRES must name a database".into())
                })?;
                Ok(Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                })
            }
        }
    }
}

/// The URL of the PostgreSQL server for tests, or why there is none.
pub fn postgres_admin_url() -> Result<String, StoreError> {
    std::env::var("GRADUATORIE_TEST_POSTGRES").map_err(|_| {
        StoreError::Config(
            "GRADUATORIE_TEST_POSTGRES is not set: the PostgreSQL half of the tests needs a server. \
             Run `make test` (it finds or starts one), or scripts/with-postgres.sh cargo test"
                .into(),
        )
    })
}

/// What [`fixture`] creates.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// A municipality.
    pub org: graduatorie_domain::OrganisationId,
    /// Its service manager.
    pub manager: graduatorie_domain::UserId,
    /// An open call.
    pub call: graduatorie_domain::CallId,
}

/// The rules text of the fixture's call (the store keeps rules as text; it does not read them).
pub const RULES: &str = "# a regulation\n[call]\nservice = \"nidi\"\n";

/// The facilities of the fixture's call, 10 seats each in section `piccoli`.
pub const FACILITIES: [&str; 3] = ["girasole", "arcobaleno", "aquilone"];

fn instant(s: &str) -> Result<jiff::Timestamp, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Config(format!("fixture instant {s}: {e}")))
}

/// A municipality with a manager, a nursery service and a call open from 1 October 2026 to 1 March
/// 2027 (UTC instants), with the three [`FACILITIES`].
pub fn fixture(conn: &mut crate::AnyConnection) -> Result<Fixture, StoreError> {
    use crate::calls::{self, CallStatus, NewCall, Seats};
    use crate::orgs::{self, OrganisationKind, Role};
    let t0 = instant("2026-09-01T08:00:00Z")?;
    let org = orgs::create_organisation(conn, OrganisationKind::Municipality, "Comune di Prova", None, t0)?;
    let manager = orgs::create_user(conn, "manager@example.invalid", "Responsabile", t0)?;
    orgs::grant_role(conn, manager, org, Role::Manager)?;
    let service = calls::create_service(conn, org, "nidi", "Nidi d'infanzia")?;
    let call = calls::create_call(
        conn,
        &NewCall {
            service,
            school_year: "2026/2027",
            opens_at: instant("2026-10-01T00:00:00Z")?,
            closes_at: instant("2027-03-01T00:00:00Z")?,
            rules_toml: RULES,
        },
        t0,
    )?;
    for code in FACILITIES {
        let seats = [Seats {
            section: "piccoli".into(),
            time_slot: String::new(),
            seats: 10,
        }];
        let code = graduatorie_domain::FacilityCode::parse(code)
            .map_err(|_| StoreError::Config(format!("fixture facility {code}")))?;
        calls::add_facility(conn, call, &code, code.as_str(), &seats)?;
    }
    calls::set_status(conn, call, CallStatus::Open)?;
    Ok(Fixture { org, manager, call })
}
