//! Offers of a seat after a published ranking, and the families' answers. An offer is answered once,
//! before its deadline; the answers (and the silences) decide the next waiting-list round. Offers are
//! never deleted and their terms never change (triggers on both backends).

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, FacilityCode, OfferId, RankingId, UserId};
use jiff::Timestamp;

use crate::audit::{self, Actor};
use crate::connection::{AnyConnection, write_tx};
use crate::error::StoreError;
use crate::runs;
use crate::schema::{applications as a, facilities as f, offers as of};
use crate::time;

/// A family's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The family takes the seat.
    Accepted,
    /// The family turns it down.
    Refused,
}

impl Answer {
    /// As stored and exported (`accepted`, `refused`: the words of `answers.csv`).
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Accepted => "accepted",
            Answer::Refused => "refused",
        }
    }
}

/// A seat to offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    /// To whom.
    pub application: ApplicationId,
    /// Where.
    pub facility: FacilityCode,
    /// Age section.
    pub section: String,
    /// Time slot (empty when the service has none).
    pub time_slot: String,
}

/// An offer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// Id.
    pub id: OfferId,
    /// The ranking run that allocated the seat.
    pub run: RankingId,
    /// To whom.
    pub application: ApplicationId,
    /// Where.
    pub facility: String,
    /// Age section.
    pub section: String,
    /// Time slot.
    pub time_slot: String,
    /// When it was made.
    pub offered_at: Timestamp,
    /// The deadline for answering (exclusive).
    pub expires_at: Timestamp,
    /// The answer, once given.
    pub answer: Option<Answer>,
    /// When it was given.
    pub answered_at: Option<Timestamp>,
}

/// Records the offers of a published run, all or none. Every application must belong to the run's
/// call and every facility to the call; an application gets at most one offer per run.
pub fn create(
    conn: &mut AnyConnection,
    run: RankingId,
    offers: &[NewOffer],
    expires_at: Timestamp,
    by: UserId,
    at: Timestamp,
) -> Result<Vec<OfferId>, StoreError> {
    if expires_at <= at {
        return Err(StoreError::Conflict(
            "expires_at: the deadline for answering must be after the offer".into(),
        ));
    }
    write_tx(conn, |tx| {
        let r = runs::get(tx, run)?;
        if r.status != "published" {
            return Err(StoreError::Conflict(format!(
                "ranking {run} is not published: seats are offered from a published ranking only"
            )));
        }
        let facilities: Vec<String> = f::table
            .filter(f::call_id.eq(r.call.get()))
            .select(f::code)
            .load(tx)?;
        let mut ids = Vec::with_capacity(offers.len());
        for (i, o) in offers.iter().enumerate() {
            if !facilities.iter().any(|c| c == o.facility.as_str()) {
                return Err(StoreError::Conflict(format!(
                    "offer {}: facility {} is not one of the call's",
                    i + 1,
                    o.facility.as_str()
                )));
            }
            let call: Option<i64> = a::table
                .find(o.application.get())
                .select(a::call_id)
                .first(tx)
                .optional()?;
            if call != Some(r.call.get()) {
                return Err(StoreError::Conflict(format!(
                    "offer {}: application {} is not one of the call's",
                    i + 1,
                    o.application
                )));
            }
            let id = diesel::insert_into(of::table)
                .values((
                    of::run_id.eq(run.get()),
                    of::application_id.eq(o.application.get()),
                    of::facility_code.eq(o.facility.as_str()),
                    of::section.eq(&o.section),
                    of::time_slot.eq(&o.time_slot),
                    of::offered_at.eq(time::to_db(at)),
                    of::expires_at.eq(time::to_db(expires_at)),
                ))
                .returning(of::id)
                .get_result::<i64>(tx)?;
            ids.push(OfferId::new(id));
        }
        audit::append(
            tx,
            at,
            &Actor::User(by),
            "offers.create",
            &format!("ranking:{run}"),
            &serde_json::json!({ "offers": offers.len(), "expires_at": time::to_db(expires_at) }),
        )?;
        Ok(ids)
    })
}

/// Records a family's answer to its offer, once, before the deadline. `application` is the one the
/// caller acts for: an offer made to another application is reported as not found.
pub fn answer(
    conn: &mut AnyConnection,
    offer: OfferId,
    application: ApplicationId,
    answer: Answer,
    by: &Actor,
    at: Timestamp,
) -> Result<(), StoreError> {
    write_tx(conn, |tx| {
        let o = get(tx, offer)?;
        if o.application != application {
            return Err(StoreError::NotFound("offer"));
        }
        if let Some(given) = o.answer {
            return Err(StoreError::Conflict(format!(
                "offer {offer} was already answered ({})",
                given.as_str()
            )));
        }
        if at >= o.expires_at {
            return Err(StoreError::Conflict(format!(
                "offer {offer}: the deadline for answering has passed"
            )));
        }
        diesel::update(of::table.find(offer.get()))
            .set((
                of::answer.eq(answer.as_str()),
                of::answered_at.eq(time::to_db(at)),
            ))
            .execute(tx)?;
        audit::append(
            tx,
            at,
            by,
            "offer.answer",
            &format!("offer:{offer}"),
            &serde_json::json!({ "answer": answer.as_str(), "application": application.get() }),
        )
    })
}

type Row = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

macro_rules! columns {
    () => {
        (
            of::id,
            of::run_id,
            of::application_id,
            of::facility_code,
            of::section,
            of::time_slot,
            of::offered_at,
            of::expires_at,
            of::answer,
            of::answered_at,
        )
    };
}

fn to_offer(r: Row) -> Result<Offer, StoreError> {
    let (id, run, application, facility, section, time_slot, offered_at, expires_at, answer, answered_at) = r;
    let answer = match answer.as_deref() {
        None => None,
        Some("accepted") => Some(Answer::Accepted),
        Some("refused") => Some(Answer::Refused),
        Some(other) => return Err(StoreError::Conflict(format!("stored answer {other:?}"))),
    };
    Ok(Offer {
        id: OfferId::new(id),
        run: RankingId::new(run),
        application: ApplicationId::new(application),
        facility,
        section,
        time_slot,
        offered_at: time::from_db(offered_at)?,
        expires_at: time::from_db(expires_at)?,
        answer,
        answered_at: answered_at.map(time::from_db).transpose()?,
    })
}

/// One offer.
pub fn get(conn: &mut AnyConnection, offer: OfferId) -> Result<Offer, StoreError> {
    let row: Row = of::table
        .find(offer.get())
        .select(columns!())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("offer"))?;
    to_offer(row)
}

/// The offers of a run, in the order they were made.
pub fn of_run(conn: &mut AnyConnection, run: RankingId) -> Result<Vec<Offer>, StoreError> {
    let rows: Vec<Row> = of::table
        .filter(of::run_id.eq(run.get()))
        .order(of::id.asc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_offer).collect()
}

/// An application's offers, oldest first.
pub fn of_application(
    conn: &mut AnyConnection,
    application: ApplicationId,
) -> Result<Vec<Offer>, StoreError> {
    let rows: Vec<Row> = of::table
        .filter(of::application_id.eq(application.get()))
        .order(of::id.asc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_offer).collect()
}
