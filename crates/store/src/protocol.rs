//! The protocol register (*registro di protocollo*): per organisation and calendar year in Italy,
//! numbers are progressive from 1, never reused, without gaps, and immutable.
//!
//! The number comes from a counter row updated inside the transaction that registers the document,
//! not from a database sequence: a sequence hands out numbers that a rolled-back transaction then
//! leaves unused (a gap). The counter row lock serialises registrations of one organisation and year;
//! a rollback undoes the increment together with everything else.

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, OrganisationId, ProtocolNumber, UserId};
use jiff::Timestamp;

use crate::connection::{AnyConnection, write_tx};
use crate::error::StoreError;
use crate::schema::{protocol_counters as pc, protocol_entries as pe};
use crate::time;

/// What a protocol entry registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A new application.
    Application,
    /// A new version of an application.
    Amendment,
    /// An objection to a published ranking.
    Objection,
    /// A family's answer to an offer.
    Answer,
}

impl Subject {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Subject::Application => "application",
            Subject::Amendment => "amendment",
            Subject::Objection => "objection",
            Subject::Answer => "answer",
        }
    }
}

/// One entry of the register as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = pe)]
pub struct Entry {
    /// The organisation whose register it is.
    pub organisation_id: i64,
    /// Calendar year in Italy.
    pub year: i32,
    /// Progressive number within the year.
    pub number: i64,
    /// When it was registered (µs UTC).
    pub registered_at: i64,
    /// What it registers.
    pub subject: String,
    /// The application it concerns.
    pub application_id: Option<i64>,
    /// Annulment: when.
    pub annulled_at: Option<i64>,
    /// Annulment: by whom.
    pub annulled_by: Option<i64>,
    /// Annulment: why.
    pub annulled_reason: Option<String>,
}

/// Takes the next number of an organisation's register for the year of `at` in Italy and registers
/// the entry. Must run inside a write transaction (see [`write_tx`]): the number is final only when
/// that transaction commits.
pub fn register(
    conn: &mut AnyConnection,
    org: OrganisationId,
    at: Timestamp,
    subject: Subject,
    application: Option<ApplicationId>,
) -> Result<ProtocolNumber, StoreError> {
    let number = take_next(conn, org, at)?;
    record(conn, org, number, at, subject, application)?;
    Ok(number)
}

/// Takes the next number (first half of [`register`], for when the entry must name a row that needs
/// the number first). The caller must [`record`] it in the same transaction.
pub fn take_next(
    conn: &mut AnyConnection,
    org: OrganisationId,
    at: Timestamp,
) -> Result<ProtocolNumber, StoreError> {
    let year = time::rome_year(at)?;
    let number = advance(conn, org, year, 1)?;
    protocol_number(year, number)
}

/// Takes `count` consecutive numbers of an organisation's register for `year` at once, for a group
/// of registrations committed together, and returns the first. The caller records every one of them
/// in the same transaction.
pub(crate) fn take_block(
    conn: &mut AnyConnection,
    org: OrganisationId,
    year: i32,
    count: i64,
) -> Result<i64, StoreError> {
    let last = advance(conn, org, year, count)?;
    Ok(last - count + 1)
}

/// Writes the register entry for a number taken with [`take_next`].
pub fn record(
    conn: &mut AnyConnection,
    org: OrganisationId,
    number: ProtocolNumber,
    at: Timestamp,
    subject: Subject,
    application: Option<ApplicationId>,
) -> Result<(), StoreError> {
    diesel::insert_into(pe::table)
        .values((
            pe::organisation_id.eq(org.get()),
            pe::year.eq(i32::from(number.year())),
            pe::number.eq(i64::from(number.number())),
            pe::registered_at.eq(time::to_db(at)),
            pe::subject.eq(subject.as_str()),
            pe::application_id.eq(application.map(ApplicationId::get)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The typed protocol number of a stored year and number.
pub fn protocol_number(year: i32, number: i64) -> Result<ProtocolNumber, StoreError> {
    let (Ok(y), Ok(n)) = (i16::try_from(year), u32::try_from(number)) else {
        return Err(StoreError::Conflict(
            "protocol register: number out of range".into(),
        ));
    };
    ProtocolNumber::new(y, n)
        .map_err(|_| StoreError::Conflict("protocol register: number out of range".into()))
}

/// Moves the counter forward by `count` and returns its new value, the last number taken.
fn advance(conn: &mut AnyConnection, org: OrganisationId, year: i32, count: i64) -> Result<i64, StoreError> {
    if let Some(n) = bump(conn, org, year, count)? {
        return Ok(n);
    }
    // First registration of the year. Two writers may both get here; the second insert fails on the
    // primary key inside its own savepoint (so the outer transaction survives) and then waits on the
    // row like everyone else.
    let created = conn.transaction(|c| {
        diesel::insert_into(pc::table)
            .values((
                pc::organisation_id.eq(org.get()),
                pc::year.eq(year),
                pc::last_number.eq(0_i64),
            ))
            .execute(c)
    });
    match created {
        Ok(_)
        | Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
        }
        Err(e) => return Err(e.into()),
    }
    bump(conn, org, year, count)?.ok_or(StoreError::NotFound("protocol counter"))
}

fn bump(
    conn: &mut AnyConnection,
    org: OrganisationId,
    year: i32,
    count: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(diesel::update(
        pc::table
            .filter(pc::organisation_id.eq(org.get()))
            .filter(pc::year.eq(year)),
    )
    .set(pc::last_number.eq(pc::last_number + count))
    .returning(pc::last_number)
    .get_result::<i64>(conn)
    .optional()?)
}

/// Annuls an entry: the original stays, marked with who, when and why. An entry is annulled once.
pub fn annul(
    conn: &mut AnyConnection,
    org: OrganisationId,
    protocol: ProtocolNumber,
    by: UserId,
    reason: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(StoreError::Conflict("annulment: a reason is required".into()));
    }
    write_tx(conn, |c| {
        let entry = find(c, org, protocol)?.ok_or(StoreError::NotFound("protocol entry"))?;
        if entry.annulled_at.is_some() {
            return Err(StoreError::Conflict(format!(
                "protocol {protocol} is already annulled"
            )));
        }
        diesel::update(
            pe::table
                .filter(pe::organisation_id.eq(org.get()))
                .filter(pe::year.eq(i32::from(protocol.year())))
                .filter(pe::number.eq(i64::from(protocol.number()))),
        )
        .set((
            pe::annulled_at.eq(time::to_db(at)),
            pe::annulled_by.eq(by.get()),
            pe::annulled_reason.eq(reason),
        ))
        .execute(c)?;
        crate::audit::append(
            c,
            at,
            &crate::audit::Actor::User(by),
            "protocol.annul",
            &format!("protocol:{}:{protocol}", org.get()),
            &serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// One entry of the register.
pub fn find(
    conn: &mut AnyConnection,
    org: OrganisationId,
    protocol: ProtocolNumber,
) -> Result<Option<Entry>, StoreError> {
    Ok(pe::table
        .filter(pe::organisation_id.eq(org.get()))
        .filter(pe::year.eq(i32::from(protocol.year())))
        .filter(pe::number.eq(i64::from(protocol.number())))
        .select(Entry::as_select())
        .first(conn)
        .optional()?)
}

/// The numbers of a year's register, in order (for checks and the register's printout).
pub fn numbers(conn: &mut AnyConnection, org: OrganisationId, year: i32) -> Result<Vec<i64>, StoreError> {
    Ok(pe::table
        .filter(pe::organisation_id.eq(org.get()))
        .filter(pe::year.eq(year))
        .select(pe::number)
        .order(pe::number.asc())
        .load(conn)?)
}
