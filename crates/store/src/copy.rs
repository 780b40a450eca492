//! Copies a whole database to another, empty one of either backend: how a town moves from the
//! embedded SQLite file to PostgreSQL (or an auditor takes a PostgreSQL database home as one file).
//!
//! Rows travel as JSON text, which both engines produce and consume exactly for the types the schema
//! uses (64-bit integers and text). The target is written in one transaction: if anything fails,
//! nothing is written. Published ranking runs are inserted as computed, their results added, and then
//! published again, because the triggers that freeze published results apply to this program too.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::connection::{AnyConnection, per_backend, snapshot_tx, write_tx};
use crate::error::StoreError;

/// Every table, parents before children.
pub const TABLES: [&str; 23] = [
    "organisations",
    "union_members",
    "users",
    "user_roles",
    "services",
    "calls",
    "late_batches",
    "facilities",
    "facility_seats",
    "protocol_counters",
    "applications",
    "protocol_entries",
    "application_versions",
    "application_events",
    "ranking_runs",
    "ranking_results",
    "objections",
    "offers",
    "audit_log",
    "outbox",
    "drafts",
    "idempotency_keys",
    "sessions",
];

/// Tables whose `id` comes from an identity column on PostgreSQL.
const WITH_ID: [&str; 13] = [
    "organisations",
    "users",
    "services",
    "calls",
    "facilities",
    "applications",
    "application_events",
    "ranking_runs",
    "objections",
    "offers",
    "audit_log",
    "outbox",
    "drafts",
];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Json {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn columns(conn: &mut AnyConnection, table: &str) -> Result<Vec<String>, StoreError> {
    let names: Vec<Name> = match conn {
        AnyConnection::Sqlite(c) => diesel::sql_query("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            .bind::<Text, _>(table)
            .load(c)?,
        AnyConnection::Pg(c) => diesel::sql_query(
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<Text, _>(table)
        .load(c)?,
    };
    Ok(names.into_iter().map(|n| n.name).collect())
}

fn rows(conn: &mut AnyConnection, table: &str, cols: &[String]) -> Result<Vec<String>, StoreError> {
    let first = cols
        .first()
        .ok_or_else(|| StoreError::Conflict(format!("table {table} not found")))?;
    let rows: Vec<Json> = match conn {
        AnyConnection::Sqlite(c) => {
            let pairs: Vec<String> = cols.iter().map(|col| format!("'{col}', \"{col}\"")).collect();
            diesel::sql_query(format!(
                "SELECT json_object({}) AS row FROM \"{table}\" ORDER BY \"{first}\"",
                pairs.join(", ")
            ))
            .load(c)?
        }
        AnyConnection::Pg(c) => diesel::sql_query(format!(
            "SELECT row_to_json(t)::text AS row FROM \"{table}\" t ORDER BY t.\"{first}\""
        ))
        .load(c)?,
    };
    Ok(rows.into_iter().map(|r| r.row).collect())
}

fn insert(conn: &mut AnyConnection, table: &str, cols: &[String], row: &str) -> Result<(), StoreError> {
    match conn {
        AnyConnection::Sqlite(c) => {
            let list: Vec<String> = cols.iter().map(|col| format!("\"{col}\"")).collect();
            let values: Vec<String> = cols
                .iter()
                .map(|col| format!("json_extract(?1, '$.{col}')"))
                .collect();
            diesel::sql_query(format!(
                "INSERT INTO \"{table}\" ({}) SELECT {}",
                list.join(", "),
                values.join(", ")
            ))
            .bind::<Text, _>(row)
            .execute(c)?;
        }
        AnyConnection::Pg(c) => {
            diesel::sql_query(format!(
                "INSERT INTO \"{table}\" SELECT * FROM json_populate_record(NULL::\"{table}\", $1::json)"
            ))
            .bind::<Text, _>(row)
            .execute(c)?;
        }
    }
    Ok(())
}

fn count(conn: &mut AnyConnection, table: &str) -> Result<i64, StoreError> {
    let sql = format!("SELECT COUNT(*) AS n FROM \"{table}\"");
    let rows: Vec<Count> = per_backend!(conn, c => diesel::sql_query(&sql).load(c))?;
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Rows copied per table.
pub type Report = Vec<(&'static str, i64)>;

/// Copies every row of `from` into `to`, which must be migrated to the same version and empty.
pub fn copy(from: &mut AnyConnection, to: &mut AnyConnection) -> Result<Report, StoreError> {
    let from_versions = crate::migrate::applied_versions(from)?;
    let to_versions = crate::migrate::applied_versions(to)?;
    if from_versions != to_versions {
        return Err(StoreError::Conflict(format!(
            "the two databases are at different schema versions ({} and {}): run `graduatorie migrate` on both",
            from_versions.last().map_or("none", String::as_str),
            to_versions.last().map_or("none", String::as_str)
        )));
    }
    for table in TABLES {
        if count(to, table)? != 0 {
            return Err(StoreError::Conflict(format!(
                "the target database is not empty (table {table} has rows): copy only into a new database"
            )));
        }
    }
    let data = snapshot_tx(from, |src| {
        TABLES
            .iter()
            .map(|&table| {
                let cols = columns(src, table)?;
                let rows = rows(src, table, &cols)?;
                Ok((table, cols, rows))
            })
            .collect::<Result<Vec<_>, StoreError>>()
    })?;
    write_tx(to, |dst| {
        let mut published: Vec<(i64, serde_json::Value, serde_json::Value)> = Vec::new();
        let mut report = Vec::new();
        for (table, cols, rows) in &data {
            let target_cols = columns(dst, table)?;
            if &target_cols != cols {
                return Err(StoreError::Conflict(format!(
                    "table {table}: the two schemas have different columns"
                )));
            }
            for row in rows {
                if *table == "ranking_runs" {
                    let mut value: serde_json::Value = serde_json::from_str(row)
                        .map_err(|e| StoreError::Conflict(format!("{table}: {e}")))?;
                    if let Some(obj) = value.as_object_mut()
                        && obj.get("status").and_then(|s| s.as_str()) == Some("published")
                    {
                        // Published rows are frozen by a trigger: insert as computed, publish
                        // once the results are in.
                        let id = obj
                            .get("id")
                            .and_then(|v| v.as_i64())
                            .ok_or_else(|| StoreError::Conflict("ranking_runs: id missing".into()))?;
                        let at = obj
                            .insert("published_at".into(), serde_json::Value::Null)
                            .unwrap_or_default();
                        let until = obj
                            .insert("objections_until".into(), serde_json::Value::Null)
                            .unwrap_or_default();
                        obj.insert("status".into(), "computed".into());
                        published.push((id, at, until));
                        insert(dst, table, cols, &value.to_string())?;
                        continue;
                    }
                }
                insert(dst, table, cols, row)?;
            }
            report.push((*table, i64::try_from(rows.len()).unwrap_or(i64::MAX)));
        }
        for (id, at, until) in published {
            let at = at
                .as_i64()
                .ok_or(StoreError::Conflict("ranking_runs: published_at missing".into()))?;
            use crate::schema::ranking_runs as rn;
            diesel::update(rn::table.find(id))
                .set((
                    rn::status.eq("published"),
                    rn::published_at.eq(at),
                    rn::objections_until.eq(until.as_i64()),
                ))
                .execute(dst)?;
        }
        if let AnyConnection::Pg(pg) = dst {
            // Identity columns continue after the copied ids.
            for table in WITH_ID {
                pg.batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     GREATEST((SELECT MAX(id) FROM \"{table}\"), 1), (SELECT COUNT(*) > 0 FROM \"{table}\"))"
                ))?;
            }
        }
        for (table, n) in &report {
            if count(dst, table)? != *n {
                return Err(StoreError::Conflict(format!(
                    "table {table}: row count differs after the copy"
                )));
            }
        }
        Ok(report)
    })
}
