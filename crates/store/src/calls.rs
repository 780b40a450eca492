//! Services, calls (*bandi*) and their facilities with seats per age section and time slot.
//! A call's rules file and its hash are frozen when the call opens (a trigger refuses later changes).

use diesel::prelude::*;
use graduatorie_domain::{CallId, FacilityCode, OrganisationId, ServiceId};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::connection::{AnyConnection, write_tx};
use crate::error::StoreError;
use crate::schema::{calls as c, facilities as f, facility_seats as fs, late_batches as lb, services as s};
use crate::time;

/// Where a call is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Being prepared; rules may still change.
    Draft,
    /// Accepting applications.
    Open,
    /// No longer accepting applications (late batches aside).
    Closed,
    /// A ranking has been published.
    Ranked,
}

impl CallStatus {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Draft => "draft",
            CallStatus::Open => "open",
            CallStatus::Closed => "closed",
            CallStatus::Ranked => "ranked",
        }
    }
    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "draft" => CallStatus::Draft,
            "open" => CallStatus::Open,
            "closed" => CallStatus::Closed,
            "ranked" => CallStatus::Ranked,
            _ => return Err(StoreError::Conflict(format!("unknown call status {s:?}"))),
        })
    }
}

/// Creates a service of an organisation.
pub fn create_service(
    conn: &mut AnyConnection,
    org: OrganisationId,
    code: &str,
    name: &str,
) -> Result<ServiceId, StoreError> {
    let id = diesel::insert_into(s::table)
        .values((
            s::organisation_id.eq(org.get()),
            s::code.eq(code),
            s::name.eq(name),
        ))
        .returning(s::id)
        .get_result::<i64>(conn)?;
    Ok(ServiceId::new(id))
}

/// What a new call needs.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    /// The service.
    pub service: ServiceId,
    /// `2026/2027`.
    pub school_year: &'a str,
    /// Applications accepted from…
    pub opens_at: Timestamp,
    /// …until (exclusive).
    pub closes_at: Timestamp,
    /// The regulation (TOML, flattened) as it will be applied.
    pub rules_toml: &'a str,
}

/// A call as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Its id.
    pub id: CallId,
    /// Its service.
    pub service: ServiceId,
    /// The organisation whose protocol register numbers its applications.
    pub organisation: OrganisationId,
    /// `2026/2027`.
    pub school_year: String,
    /// Window start.
    pub opens_at: Timestamp,
    /// Window end (exclusive).
    pub closes_at: Timestamp,
    /// Status.
    pub status: CallStatus,
    /// The regulation.
    pub rules_toml: String,
    /// SHA-256 of the regulation, hex.
    pub rules_hash: String,
}

/// SHA-256 of a text, lowercase hex.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Creates a call in draft.
pub fn create_call(conn: &mut AnyConnection, new: &NewCall<'_>, at: Timestamp) -> Result<CallId, StoreError> {
    let year = new.school_year.as_bytes();
    let valid_year = year.len() == 9
        && year.get(4) == Some(&b'/')
        && new
            .school_year
            .split('/')
            .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_digit()));
    if !valid_year {
        return Err(StoreError::Conflict("school_year: must be like 2026/2027".into()));
    }
    if new.closes_at <= new.opens_at {
        return Err(StoreError::Conflict("closes_at: must be after opens_at".into()));
    }
    let id = diesel::insert_into(c::table)
        .values((
            c::service_id.eq(new.service.get()),
            c::school_year.eq(new.school_year),
            c::opens_at.eq(time::to_db(new.opens_at)),
            c::closes_at.eq(time::to_db(new.closes_at)),
            c::status.eq(CallStatus::Draft.as_str()),
            c::rules_toml.eq(new.rules_toml),
            c::rules_hash.eq(sha256_hex(new.rules_toml)),
            c::created_at.eq(time::to_db(at)),
        ))
        .returning(c::id)
        .get_result::<i64>(conn)?;
    Ok(CallId::new(id))
}

/// Moves a call to a new status; only forward (draft → open → closed → ranked).
pub fn set_status(conn: &mut AnyConnection, call: CallId, to: CallStatus) -> Result<(), StoreError> {
    write_tx(conn, |tx| {
        let from = get(tx, call)?.status;
        let allowed = matches!(
            (from, to),
            (CallStatus::Draft, CallStatus::Open)
                | (CallStatus::Open, CallStatus::Closed)
                | (CallStatus::Closed, CallStatus::Ranked)
        );
        if !allowed {
            return Err(StoreError::Conflict(format!(
                "call {call}: cannot go from {} to {}",
                from.as_str(),
                to.as_str()
            )));
        }
        diesel::update(c::table.find(call.get()))
            .set(c::status.eq(to.as_str()))
            .execute(tx)?;
        Ok(())
    })
}

/// A call.
pub fn get(conn: &mut AnyConnection, call: CallId) -> Result<Call, StoreError> {
    let row: (i64, i64, i64, String, i64, i64, String, String, String) = c::table
        .inner_join(s::table)
        .filter(c::id.eq(call.get()))
        .select((
            c::id,
            c::service_id,
            s::organisation_id,
            c::school_year,
            c::opens_at,
            c::closes_at,
            c::status,
            c::rules_toml,
            c::rules_hash,
        ))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("call"))?;
    Ok(Call {
        id: CallId::new(row.0),
        service: ServiceId::new(row.1),
        organisation: OrganisationId::new(row.2),
        school_year: row.3,
        opens_at: time::from_db(row.4)?,
        closes_at: time::from_db(row.5)?,
        status: CallStatus::parse(&row.6)?,
        rules_toml: row.7,
        rules_hash: row.8,
    })
}

/// Declares a late-application batch (*graduatoria suppletiva*) closing at `closes_at`.
pub fn add_late_batch(
    conn: &mut AnyConnection,
    call: CallId,
    batch: i32,
    closes_at: Timestamp,
) -> Result<(), StoreError> {
    diesel::insert_into(lb::table)
        .values((
            lb::call_id.eq(call.get()),
            lb::batch.eq(batch),
            lb::closes_at.eq(time::to_db(closes_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The late batch open at `at` (the first whose deadline is still ahead), if any.
pub fn open_late_batch(
    conn: &mut AnyConnection,
    call: CallId,
    at: Timestamp,
) -> Result<Option<i32>, StoreError> {
    Ok(lb::table
        .filter(lb::call_id.eq(call.get()))
        .filter(lb::closes_at.gt(time::to_db(at)))
        .order(lb::batch.asc())
        .select(lb::batch)
        .first(conn)
        .optional()?)
}

/// Seats of a facility in one age section and time slot (`""` when the call has no time slots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seats {
    /// Age section.
    pub section: String,
    /// Time slot, or empty.
    pub time_slot: String,
    /// How many.
    pub seats: i64,
}

/// Adds a facility with its seats.
pub fn add_facility(
    conn: &mut AnyConnection,
    call: CallId,
    code: &FacilityCode,
    name: &str,
    seats: &[Seats],
) -> Result<i64, StoreError> {
    write_tx(conn, |tx| {
        let id = diesel::insert_into(f::table)
            .values((
                f::call_id.eq(call.get()),
                f::code.eq(code.as_str()),
                f::name.eq(name),
            ))
            .returning(f::id)
            .get_result::<i64>(tx)?;
        let rows: Vec<_> = seats
            .iter()
            .map(|s| {
                (
                    fs::facility_id.eq(id),
                    fs::section.eq(s.section.as_str()),
                    fs::time_slot.eq(s.time_slot.as_str()),
                    fs::seats.eq(s.seats),
                )
            })
            .collect();
        if !rows.is_empty() {
            crate::connection::per_backend!(tx, c => diesel::insert_into(fs::table).values(rows).execute(c))?;
        }
        Ok(id)
    })
}

/// Every facility of a call with its seats, by code.
pub fn facilities(conn: &mut AnyConnection, call: CallId) -> Result<Vec<(String, Vec<Seats>)>, StoreError> {
    type SeatRow = (String, String, i64);
    let rows: Vec<(String, Option<SeatRow>)> = f::table
        .left_join(fs::table)
        .filter(f::call_id.eq(call.get()))
        .select((f::code, (fs::section, fs::time_slot, fs::seats).nullable()))
        .order((f::code.asc(), fs::section.asc(), fs::time_slot.asc()))
        .load(conn)?;
    let mut out: Vec<(String, Vec<Seats>)> = Vec::new();
    for (code, seats) in rows {
        if out.last().is_none_or(|(c, _)| *c != code) {
            out.push((code.clone(), Vec::new()));
        }
        if let (Some((section, time_slot, seats)), Some((_, list))) = (seats, out.last_mut()) {
            list.push(Seats {
                section,
                time_slot,
                seats,
            });
        }
    }
    Ok(out)
}

/// Facility names by code, for forms and lists.
pub fn facility_names(conn: &mut AnyConnection, call: CallId) -> Result<Vec<(String, String)>, StoreError> {
    Ok(f::table
        .filter(f::call_id.eq(call.get()))
        .select((f::code, f::name))
        .order(f::code.asc())
        .load(conn)?)
}

/// A call as listed to families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Call id.
    pub id: CallId,
    /// The organisation that runs it.
    pub organisation: OrganisationId,
    /// Its name.
    pub organisation_name: String,
    /// Service code.
    pub service_code: String,
    /// Service name.
    pub service_name: String,
    /// School year.
    pub school_year: String,
    /// Opening.
    pub opens_at: Timestamp,
    /// Deadline.
    pub closes_at: Timestamp,
    /// Status.
    pub status: CallStatus,
}

/// Calls that accept applications at `now` (open, or with a late batch open), by deadline.
pub fn accepting(conn: &mut AnyConnection, now: Timestamp) -> Result<Vec<Listing>, StoreError> {
    use crate::schema::organisations as o;
    let now_db = time::to_db(now);
    let late = lb::table.filter(lb::closes_at.gt(now_db)).select(lb::call_id);
    type ListingRow = (i64, i64, String, String, String, String, i64, i64, String);
    let rows: Vec<ListingRow> = c::table
        .inner_join(s::table.inner_join(o::table))
        .filter(c::opens_at.le(now_db))
        .filter(
            c::status
                .eq(CallStatus::Open.as_str())
                .and(c::closes_at.gt(now_db))
                .or(c::status
                    .eq_any([CallStatus::Open.as_str(), CallStatus::Closed.as_str()])
                    .and(c::id.eq_any(late))),
        )
        .select((
            c::id,
            s::organisation_id,
            o::name,
            s::code,
            s::name,
            c::school_year,
            c::opens_at,
            c::closes_at,
            c::status,
        ))
        .order((c::closes_at.asc(), c::id.asc()))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            Ok(Listing {
                id: CallId::new(r.0),
                organisation: OrganisationId::new(r.1),
                organisation_name: r.2,
                service_code: r.3,
                service_name: r.4,
                school_year: r.5,
                opens_at: time::from_db(r.6)?,
                closes_at: time::from_db(r.7)?,
                status: CallStatus::parse(&r.8)?,
            })
        })
        .collect()
}
