//! Submitting a group of applications in one transaction with a handful of statements, whatever the
//! group's size: the batching writer's fast path. The protocol counter moves once per organisation
//! and year, and every table gets one multi-row insert, so the cost of a group is a few round trips
//! and one commit instead of about ten round trips per application.
//!
//! The outcome is the same as [`super::submit_in_tx`] for each submission in turn: the same checks
//! refuse the same submissions (they take no number), and the others are numbered in queue order.

use std::collections::HashMap;

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, CallId, CodiceFiscale, OrganisationId};
use jiff::Timestamp;

use super::{RECEIPT_MESSAGE, Submission, Submitted, batch_at, check_submission, receipt_payload};
use crate::audit::Actor;
use crate::calls::{self, Call};
use crate::connection::{AnyConnection, per_backend};
use crate::error::StoreError;
use crate::protocol::{self, Subject};
use crate::schema::{
    application_events as ev, application_versions as av, applications as a, audit_log as al,
    idempotency_keys as ik, outbox as ob, protocol_entries as pe,
};
use crate::time;

/// One accepted submission on its way into the tables.
struct Row<'a> {
    job: usize,
    s: &'a Submission,
    at: Timestamp,
    call: &'a Call,
    batch: i32,
    year: i32,
    answers: String,
    prefs: String,
    number: i64,
    id: i64,
}

/// Submits every `(submission, instant)` of `jobs` inside the caller's write transaction. The outer
/// `Result` fails only on a database error, after which the caller must roll back; the inner ones are
/// each submission's own refusal.
pub fn submit_group_in_tx(
    conn: &mut AnyConnection,
    jobs: &[(&Submission, Timestamp)],
) -> Result<Vec<Result<Submitted, StoreError>>, StoreError> {
    let mut outcome: Vec<Option<Result<Submitted, StoreError>>> = jobs.iter().map(|_| None).collect();
    let mut cache: HashMap<CallId, Option<Call>> = HashMap::new();
    for (s, _) in jobs {
        if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(s.call) {
            slot.insert(match calls::get(conn, s.call) {
                Ok(c) => Some(c),
                Err(StoreError::NotFound(_)) => None,
                Err(e) => return Err(e),
            });
        }
    }
    // Checks first: a refused submission takes no number.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (job, (s, at)) in jobs.iter().enumerate() {
        let checked = check_submission(s).and_then(|(answers, prefs)| {
            let call = cache
                .get(&s.call)
                .and_then(Option::as_ref)
                .ok_or(StoreError::NotFound("call"))?;
            let batch = batch_at(conn, call, *at)?;
            Ok(Row {
                job,
                s,
                at: *at,
                call,
                batch,
                year: time::rome_year(*at)?,
                answers,
                prefs,
                number: 0,
                id: 0,
            })
        });
        match checked {
            Ok(row) => rows.push(row),
            Err(e) => {
                if let Some(slot) = outcome.get_mut(job) {
                    *slot = Some(Err(e));
                }
            }
        }
    }
    // Numbers: one block per organisation and year, handed out in queue order.
    let mut blocks: Vec<((OrganisationId, i32), Vec<usize>)> = Vec::new();
    for (k, row) in rows.iter().enumerate() {
        let key = (row.call.organisation, row.year);
        match blocks.iter_mut().find(|(b, _)| *b == key) {
            Some((_, members)) => members.push(k),
            None => blocks.push((key, vec![k])),
        }
    }
    for ((org, year), members) in &blocks {
        let count =
            i64::try_from(members.len()).map_err(|_| StoreError::Conflict("group too large".into()))?;
        let first = protocol::take_block(conn, *org, *year, count)?;
        for (offset, k) in (0_i64..).zip(members) {
            if let Some(row) = rows.get_mut(*k) {
                row.number = first + offset;
            }
        }
    }
    insert_all(conn, &mut rows)?;
    for row in &rows {
        let protocol = protocol::protocol_number(row.year, row.number)?;
        if let Some(slot) = outcome.get_mut(row.job) {
            *slot = Some(Ok(Submitted {
                application: ApplicationId::new(row.id),
                protocol,
                batch: row.batch,
                version: 1,
            }));
        }
    }
    outcome
        .into_iter()
        .map(|o| o.ok_or_else(|| StoreError::Conflict("submission left without an outcome".into())))
        .collect()
}

/// Rows per statement: well under SQLite's 32,766 bound values with 12 columns.
const CHUNK: usize = 500;

fn insert_all(conn: &mut AnyConnection, rows: &mut [Row<'_>]) -> Result<(), StoreError> {
    for chunk in rows.chunks_mut(CHUNK) {
        let apps: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    a::call_id.eq(r.call.id.get()),
                    a::organisation_id.eq(r.call.organisation.get()),
                    a::protocol_year.eq(r.year),
                    a::protocol_number.eq(r.number),
                    a::batch.eq(r.batch),
                    a::status.eq("submitted"),
                    a::current_version.eq(1),
                    a::family.eq(r.s.family.as_deref()),
                    a::submitted_at.eq(time::to_db(r.at)),
                    a::owner_cf.eq(r.s.owner.as_ref().map(CodiceFiscale::as_str)),
                    a::municipality_id.eq(r.s.municipality.map(OrganisationId::get)),
                    a::contact_email.eq(r.s.contact_email.as_deref()),
                )
            })
            .collect();
        // RETURNING gives the ids in the order of the VALUES list on both backends; the protocol
        // number returned alongside is checked rather than trusted to that order.
        let ids: Vec<(i64, i64, i64)> = per_backend!(conn, c => diesel::insert_into(a::table)
            .values(apps)
            .returning((a::id, a::organisation_id, a::protocol_number))
            .get_results(c))?;
        for (row, (id, org, number)) in chunk.iter_mut().zip(&ids) {
            if (row.call.organisation.get(), row.number) != (*org, *number) {
                return Err(StoreError::Conflict(
                    "group submission: ids came back out of order".into(),
                ));
            }
            row.id = *id;
        }
        if ids.len() != chunk.len() {
            return Err(StoreError::Conflict("group submission: rows missing".into()));
        }
        let entries: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    pe::organisation_id.eq(r.call.organisation.get()),
                    pe::year.eq(r.year),
                    pe::number.eq(r.number),
                    pe::registered_at.eq(time::to_db(r.at)),
                    pe::subject.eq(Subject::Application.as_str()),
                    pe::application_id.eq(Some(r.id)),
                )
            })
            .collect();
        per_backend!(conn, c => diesel::insert_into(pe::table).values(entries).execute(c))?;
        let versions: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    av::application_id.eq(r.id),
                    av::version.eq(1),
                    av::answers.eq(r.answers.as_str()),
                    av::preferences.eq(r.prefs.as_str()),
                    av::saved_at.eq(time::to_db(r.at)),
                    av::saved_by.eq(r.s.by.map(|u| u.get())),
                )
            })
            .collect();
        per_backend!(conn, c => diesel::insert_into(av::table).values(versions).execute(c))?;
        let events: Vec<_> = chunk
            .iter()
            .map(|r| {
                (
                    ev::application_id.eq(r.id),
                    ev::status.eq("submitted"),
                    ev::at.eq(time::to_db(r.at)),
                    ev::by_user.eq(r.s.by.map(|u| u.get())),
                    ev::reason.eq(None::<String>),
                )
            })
            .collect();
        per_backend!(conn, c => diesel::insert_into(ev::table).values(events).execute(c))?;
        let audit = chunk
            .iter()
            .map(|r| {
                let actor = r.s.by.map_or(Actor::Family, Actor::User);
                let detail = serde_json::json!({
                    "protocol": protocol::protocol_number(r.year, r.number)?.to_string(),
                    "call": r.call.id.get(),
                    "batch": r.batch,
                });
                Ok((
                    al::at.eq(time::to_db(r.at)),
                    al::actor.eq(actor.as_text()),
                    al::action.eq("application.submit"),
                    al::subject.eq(format!("application:{}", r.id)),
                    al::detail.eq(detail.to_string()),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        per_backend!(conn, c => diesel::insert_into(al::table).values(audit).execute(c))?;
        let keys: Vec<_> = chunk
            .iter()
            .filter_map(|r| {
                r.s.idempotency.as_ref().map(|k| {
                    (
                        ik::owner.eq(k.owner.as_str()),
                        ik::key.eq(k.key.as_str()),
                        ik::request_sha256.eq(k.request_sha256.as_str()),
                        ik::application_id.eq(r.id),
                        ik::created_at.eq(time::to_db(r.at)),
                    )
                })
            })
            .collect();
        if !keys.is_empty() {
            per_backend!(conn, c => diesel::insert_into(ik::table).values(keys).execute(c))?;
        }
        let mails: Vec<_> = chunk
            .iter()
            .filter_map(|r| {
                r.s.contact_email.as_deref().map(|to| {
                    (
                        ob::created_at.eq(time::to_db(r.at)),
                        ob::kind.eq(RECEIPT_MESSAGE),
                        ob::recipient.eq(to),
                        ob::payload.eq(receipt_payload(r.id, 1).to_string()),
                        ob::next_attempt_at.eq(time::to_db(r.at)),
                    )
                })
            })
            .collect();
        if !mails.is_empty() {
            per_backend!(conn, c => diesel::insert_into(ob::table).values(mails).execute(c))?;
        }
    }
    Ok(())
}
