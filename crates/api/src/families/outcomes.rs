//! After a ranking is published: my score line by line and my position in every list
//! (`GET /api/v1/applications/{id}/results`), my offers and the answer to one
//! (`POST /api/v1/offers/{id}/answer`), and objections to a provisional ranking
//! (`POST /api/v1/applications/{id}/objections`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use graduatorie_domain::{ApplicationId, OfferId, RankingId};
use graduatorie_rules::{ApplicationJson, FacilityTable};
use graduatorie_store::applications::Application;
use graduatorie_store::audit::Actor;
use graduatorie_store::calls::{self, Call};
use graduatorie_store::offers::{self, Answer, Offer};
use graduatorie_store::{AnyConnection, objections, runs};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use validator::Validate;

use super::access::Access;
use super::applications::visible;
use crate::auth::Principal;
use crate::problem::{Lang, Problem};
use crate::{AppState, blocking, body};

fn actor(who: &Principal) -> Actor {
    match who {
        Principal::Family { .. } => Actor::Family,
        Principal::Staff { user, .. } => Actor::User(*user),
    }
}

/// The line-by-line breakdown of the application's current answers under the call's regulation.
fn breakdown(
    state: &AppState,
    conn: &mut AnyConnection,
    app: &Application,
    call: &Call,
) -> Option<serde_json::Value> {
    let regulation = state.rules.of(call).ok()?;
    let codes: Vec<String> = calls::facilities(conn, call.id)
        .ok()?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let json = ApplicationJson {
        protocol: Some(app.protocol.to_string()),
        submitted_at: Some(app.submitted_at.to_string()),
        preferences: app.preferences.clone(),
        family: app.family.clone(),
        inputs: app.answers.as_object().cloned().unwrap_or_default(),
    };
    let mut table = FacilityTable::closed(codes);
    let facts = regulation.facts(&json, &mut table).ok()?;
    let evaluation = regulation.evaluate(&facts).ok()?;
    let fee = regulation.fee_for(&facts).ok();
    serde_json::to_value(regulation.explain(&evaluation, &table, fee)).ok()
}

/// `GET /api/v1/applications/{id}/results`: every published ranking of the call with this
/// application's lines, and the breakdown of its score. Empty until a ranking is published.
pub async fn results(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = ApplicationId::new(path.into_inner());
    let st = state.clone();
    let body = blocking::run(&state, lang, move |conn, lang| {
        let (app, call) = visible(conn, &who, id, Access::Read, lang)?;
        let published = runs::published(conn, call.id).map_err(blocking::store(lang))?;
        let mut rankings = Vec::new();
        for run in &published {
            let lines = runs::results_of(conn, run.id, id).map_err(blocking::store(lang))?;
            rankings.push(json!({
                "ranking": run.id,
                "round": run.round,
                "kind": run.kind,
                "published_at": run.published_at.map(|t| t.to_string()),
                "objections_until": run.objections_until.map(|t| t.to_string()),
                "lists": lines.iter().map(|l| json!({
                    "list": l.list,
                    "position": l.position,
                    "points": Decimal::try_new(l.points_scaled, u32::try_from(l.points_scale).unwrap_or(0))
                        .map(|d| d.to_string()).unwrap_or_default(),
                    "tier": l.tier,
                    "outcome": l.outcome,
                    "facility": l.facility_code,
                })).collect::<Vec<_>>(),
            }));
        }
        // The score is explained once something is published: before that, the office may still
        // exclude or correct, and a provisional score shown too early misleads.
        let breakdown = if published.is_empty() {
            None
        } else {
            breakdown(&st, conn, &app, &call)
        };
        Ok(json!({ "application": id, "rankings": rankings, "breakdown": breakdown }))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn offer_view(o: &Offer) -> serde_json::Value {
    json!({
        "offer": o.id,
        "ranking": o.run,
        "application": o.application,
        "facility": o.facility,
        "section": o.section,
        "time_slot": o.time_slot,
        "offered_at": o.offered_at.to_string(),
        "expires_at": o.expires_at.to_string(),
        "answer": o.answer.map(Answer::as_str),
        "answered_at": o.answered_at.map(|t| t.to_string()),
        "links": { "answer": format!("/api/v1/offers/{}/answer", o.id) },
    })
}

/// `GET /api/v1/applications/{id}/offers`.
pub async fn offers_of(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = ApplicationId::new(path.into_inner());
    let list = blocking::run(&state, lang, move |conn, lang| {
        visible(conn, &who, id, Access::Read, lang)?;
        offers::of_application(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "offers": list.iter().map(offer_view).collect::<Vec<_>>() })))
}

/// An answer to an offer.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// `accept` or `refuse`.
    pub answer: String,
}

/// `POST /api/v1/offers/{id}/answer`: once, before the offer's deadline.
pub async fn answer(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: AnswerBody = body::parse(&req, &bytes)?;
    let given = match b.answer.as_str() {
        "accept" => Answer::Accepted,
        "refuse" => Answer::Refused,
        _ => {
            return Err(Problem::invalid_field(
                lang,
                "/answer",
                "deve essere `accept` o `refuse`",
            ));
        }
    };
    let id = OfferId::new(path.into_inner());
    let offer = blocking::run(&state, lang, move |conn, lang| {
        let offer = offers::get(conn, id).map_err(blocking::store(lang))?;
        visible(conn, &who, offer.application, Access::Act, lang)?;
        offers::answer(conn, id, offer.application, given, &actor(&who), Timestamp::now())
            .map_err(blocking::store(lang))?;
        offers::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    tracing::info!(operation = "offer.answer", outcome = given.as_str(), offer = %id);
    Ok(HttpResponse::Ok().json(offer_view(&offer)))
}

/// An objection to a provisional ranking.
#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    /// The provisional ranking objected to.
    pub ranking: i64,
    /// The objection, as the family writes it.
    #[validate(length(min = 1, max = 20000, message = "da 1 a 20000 caratteri"))]
    pub text: String,
}

fn objection_view(o: &objections::Objection) -> serde_json::Value {
    json!({
        "objection": o.id,
        "ranking": o.run,
        "application": o.application,
        "filed_at": o.filed_at.to_string(),
        "text": o.body,
        "status": o.status,
        "decided_at": o.decided_at.map(|t| t.to_string()),
        "decision": o.decision,
    })
}

/// `POST /api/v1/applications/{id}/objections`: within the provisional ranking's window.
pub async fn object(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: ObjectionBody = body::parse(&req, &bytes)?;
    let id = ApplicationId::new(path.into_inner());
    let filed = blocking::run(&state, lang, move |conn, lang| {
        let (_, call) = visible(conn, &who, id, Access::Act, lang)?;
        let run = RankingId::new(b.ranking);
        // A ranking of another call is, to this application, a ranking that does not exist.
        let belongs = runs::get(conn, run).map(|r| r.call == call.id).unwrap_or(false);
        if !belongs {
            return Err(Problem::invalid_field(
                lang,
                "/ranking",
                "graduatoria non pubblicata per questo bando",
            ));
        }
        let oid = objections::file(conn, run, id, &b.text, &actor(&who), Timestamp::now())
            .map_err(blocking::store(lang))?;
        let all = objections::of_application(conn, id).map_err(blocking::store(lang))?;
        all.into_iter()
            .find(|o| o.id == oid)
            .ok_or_else(|| blocking::not_found(lang))
    })
    .await?;
    tracing::info!(operation = "objection.file", outcome = "filed", objection = %filed.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/applications/{id}/objections")))
        .json(objection_view(&filed)))
}

/// `GET /api/v1/applications/{id}/objections`.
pub async fn objections_of(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = ApplicationId::new(path.into_inner());
    let list = blocking::run(&state, lang, move |conn, lang| {
        visible(conn, &who, id, Access::Read, lang)?;
        objections::of_application(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "objections": list.iter().map(objection_view).collect::<Vec<_>>() })))
}
