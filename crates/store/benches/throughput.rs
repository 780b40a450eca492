//! Durable submissions per second, each with its protocol number, first version, status entry and audit
//! entry, on SQLite (WAL, `synchronous=FULL`) and PostgreSQL (`fsync=on`, `synchronous_commit=on`),
//! with 1 and 16 concurrent writers, committing one transaction per submission ("direct") or through
//! the batching writer ("batched"). The baseline, measured in the same run on the same database, is
//! the rate of bare one-row commits: the flush rate of the disk, which bounds any design with one
//! commit per submission.
//!
//! Run: `make bench-store` (starts a throwaway PostgreSQL cluster with durable settings). Results are
//! recorded in docs/performance.md. Every scenario checks afterwards that the protocol numbers are
//! exactly 1..N.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::float_arithmetic,
    clippy::print_stdout,
    reason = "a benchmark: set-up may panic, figures are printed as floats"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use graduatorie_domain::{CallId, FacilityCode, OrganisationId};
use graduatorie_store::applications::{self, Submission};
use graduatorie_store::batch::SubmissionWriter;
use graduatorie_store::connection::write_tx;
use graduatorie_store::{DatabaseUrl, DurabilityCheck, Store, StoreConfig, protocol};
use jiff::Timestamp;

/// Submissions per scenario (all writers together).
fn total() -> u32 {
    std::env::var("GRADUATORIE_BENCH_SUBMISSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}

struct Db {
    store: Store,
    org: OrganisationId,
    call: CallId,
    drop_pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.drop_pg
            && let Ok(mut c) = DatabaseUrl::parse(admin).and_then(|u| u.connect())
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn fresh(backend: Backend, name: &str) -> Db {
    let (url, drop_pg) = match backend {
        Backend::Sqlite => {
            let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("store-bench");
            std::fs::create_dir_all(&dir).unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(dir.join(format!("{name}.db{suffix}")));
            }
            (format!("sqlite://{}/{name}.db", dir.display()), None)
        }
        Backend::Postgres => {
            let admin = std::env::var("GRADUATORIE_TEST_POSTGRES")
                .expect("GRADUATORIE_TEST_POSTGRES is not set: run `make bench-store`");
            let mut c = DatabaseUrl::parse(&admin).unwrap().connect().unwrap();
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .unwrap();
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
            let base = admin.rsplit_once('/').unwrap().0;
            (format!("{base}/{name}"), Some((admin, name.to_owned())))
        }
    };
    let mut config = StoreConfig::new(DatabaseUrl::parse(&url).unwrap());
    config.pool_size = 20;
    // Never skipped here: the point is to measure durable commits.
    config.durability = DurabilityCheck::Enforce;
    let store =
        Store::open(&config).unwrap_or_else(|e| panic!("{e}: the benchmark measures durable commits only"));
    store.migrate().unwrap();
    let mut conn = store.conn().unwrap();
    if backend == Backend::Sqlite {
        #[derive(QueryableByName)]
        struct Sync {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        let s: Sync = diesel::sql_query("PRAGMA synchronous")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(s.synchronous, 2, "SQLite must run with synchronous=FULL");
    }
    conn.batch_execute("CREATE TABLE bench_floor (n BIGINT NOT NULL)")
        .unwrap();
    let f = graduatorie_store::testing::fixture(&mut conn).unwrap();
    drop(conn);
    Db {
        store,
        org: f.org,
        call: f.call,
        drop_pg,
    }
}

/// A realistic submission: a dozen answers, three preferences.
fn submission(call: CallId, n: u32) -> Submission {
    Submission {
        call,
        answers: serde_json::json!({
            "birth_date": "2025-04-12", "resident": true, "disability": false,
            "social_services": false, "parents": 2, "other_children": n % 3,
            "work_1": "full_time", "work_2": "part_time", "commute_km_1": 12,
            "isee": format!("{}.{:02}", 8_000 + n % 30_000, n % 100), "isee_kind": "minorenni",
            "twins": false
        }),
        preferences: graduatorie_store::testing::FACILITIES
            .iter()
            .map(|c| FacilityCode::parse(c).unwrap())
            .collect(),
        family: None,
        by: None,
        owner: None,
        municipality: None,
        contact_email: None,
        idempotency: None,
    }
}

fn at() -> Timestamp {
    "2026-10-15T09:00:00Z".parse().unwrap()
}

struct Stats {
    done: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn per_second(&self) -> f64 {
        self.done as f64 / self.wall.as_secs_f64()
    }
    fn percentile(&mut self, p: usize) -> f64 {
        self.latencies.sort_unstable();
        let i = (self.latencies.len() * p / 100).min(self.latencies.len() - 1);
        self.latencies[i].as_secs_f64() * 1_000.0
    }
}

/// Runs `writers` threads, each doing `each` operations, timing every one.
fn measure(writers: u32, each: u32, op: impl Fn(u32, u32) + Sync) -> Stats {
    let start = Instant::now();
    let latencies = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let op = &op;
                scope.spawn(move || {
                    (0..each)
                        .map(|i| {
                            let t = Instant::now();
                            op(w, i);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    Stats {
        done: latencies.len(),
        wall: start.elapsed(),
        latencies,
    }
}

fn check_gapless(db: &Db, n: u32) {
    let mut conn = db.store.conn().unwrap();
    let numbers = protocol::numbers(&mut conn, db.org, 2026).unwrap();
    assert_eq!(
        numbers,
        (1..=i64::from(n)).collect::<Vec<_>>(),
        "protocol numbers must be exactly 1..={n}"
    );
}

fn report(backend: &str, scenario: &str, writers: u32, mut s: Stats) {
    let (p50, p99) = (s.percentile(50), s.percentile(99));
    println!(
        "| {backend} | {scenario} | {writers} | {} | {:.0} | {p50:.2} | {p99:.2} |",
        s.done,
        s.per_second(),
    );
}

fn main() {
    // `cargo test --all-targets` runs this binary without `--bench`: then a small smoke run on SQLite
    // only (the test suite's PostgreSQL runs without fsync, which this benchmark refuses).
    let measuring = std::env::args().any(|a| a == "--bench");
    let n = if measuring { total() } else { 64 };
    let backends: &[(Backend, &str)] = if measuring {
        &[(Backend::Sqlite, "SQLite"), (Backend::Postgres, "PostgreSQL")]
    } else {
        &[(Backend::Sqlite, "SQLite")]
    };
    println!("| backend | scenario | writers | operations | per second | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|");
    for &(backend, label) in backends {
        let db = fresh(backend, "bench_floor");
        let floor = measure(1, n / 4, |_, _| {
            let mut conn = db.store.conn().unwrap();
            write_tx(&mut conn, |tx| {
                Ok(diesel::sql_query("INSERT INTO bench_floor (n) VALUES (1)").execute(tx)?)
            })
            .unwrap();
        });
        report(label, "baseline: bare one-row commits", 1, floor);
        drop(db);

        for writers in [1, 16] {
            let db = fresh(backend, &format!("bench_direct_{writers}"));
            let each = n / writers / if writers == 1 { 4 } else { 1 };
            let s = measure(writers, each, |w, i| {
                let mut conn = db.store.conn().unwrap();
                applications::submit(&mut conn, &submission(db.call, w * each + i), at()).unwrap();
            });
            check_gapless(&db, writers * each);
            report(label, "direct: one transaction per submission", writers, s);
        }

        for writers in [1, 16] {
            let db = fresh(backend, &format!("bench_batched_{writers}"));
            let writer = Arc::new(SubmissionWriter::start(db.store.clone(), 256).unwrap());
            let each = n / writers / if writers == 1 { 4 } else { 1 };
            let s = measure(writers, each, |w, i| {
                writer.submit(submission(db.call, w * each + i), at()).unwrap();
            });
            drop(writer);
            check_gapless(&db, writers * each);
            report(
                label,
                "batched: one writer, up to 256 per transaction",
                writers,
                s,
            );
        }
    }
}
