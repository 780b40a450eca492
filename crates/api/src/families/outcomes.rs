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
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
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

/// What an application got in the published rankings of its call.
#[derive(Debug, Serialize, ToSchema)]
pub struct Results {
    /// The application.
    pub application: i64,
    /// Every published ranking, with this application's line in each of its lists.
    pub rankings: Vec<RankingLines>,
    /// The score explained criterion by criterion (`docs/formats.md`); null until a ranking is
    /// published.
    #[schema(value_type = Option<Object>)]
    pub breakdown: Option<serde_json::Value>,
}

/// One published ranking, from one application's side.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankingLines {
    /// The ranking's id (objections name it).
    pub ranking: i64,
    /// Round, from 1.
    pub round: i32,
    /// `provisional` or `final`.
    pub kind: String,
    /// When it was published (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub published_at: Option<String>,
    /// Objections are accepted until (provisional rankings).
    #[schema(format = DateTime)]
    pub objections_until: Option<String>,
    /// The application's line in each list.
    pub lists: Vec<ListLine>,
}

/// An application's line in one list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListLine {
    /// `global`, an age section or a facility code.
    pub list: String,
    /// Position, from 1.
    pub position: i64,
    /// Points, exact decimal as text.
    pub points: String,
    /// Precedence tier label.
    pub tier: String,
    /// `admitted`, `waiting`, `not_eligible`…
    pub outcome: String,
    /// The facility offered, if any.
    pub facility: Option<String>,
}

/// `GET /api/v1/applications/{id}/results`: every published ranking of the call with this
/// application's lines, and the breakdown of its score. Empty until a ranking is published.
#[utoipa::path(get, operation_id = "getResults", path = "/api/v1/applications/{application}/results", tag = "outcomes",
    params(("application" = i64, Path, description = "Application id")), security(("bearer" = [])),
    responses((status = 200, description = "Published rankings with this application's lines, and its score explained", body = Results),
        crate::openapi::AuthGet))]
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
            rankings.push(RankingLines {
                ranking: run.id.get(),
                round: run.round,
                kind: run.kind.clone(),
                published_at: run.published_at.map(|t| t.to_string()),
                objections_until: run.objections_until.map(|t| t.to_string()),
                lists: lines
                    .iter()
                    .map(|l| ListLine {
                        list: l.list.clone(),
                        position: l.position,
                        points: Decimal::try_new(l.points_scaled, u32::try_from(l.points_scale).unwrap_or(0))
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        tier: l.tier.clone(),
                        outcome: l.outcome.clone(),
                        facility: l.facility_code.clone(),
                    })
                    .collect(),
            });
        }
        // The score is explained once something is published: before that, the office may still
        // exclude or correct, and a provisional score shown too early misleads.
        let breakdown = if published.is_empty() {
            None
        } else {
            breakdown(&st, conn, &app, &call)
        };
        Ok(Results {
            application: id.get(),
            rankings,
            breakdown,
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// A seat offered to an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferView {
    /// Id.
    pub offer: i64,
    /// The ranking (round) that made it.
    pub ranking: i64,
    /// The application.
    pub application: i64,
    /// Facility code.
    pub facility: String,
    /// Age section.
    pub section: String,
    /// Time slot.
    pub time_slot: String,
    /// When it was made (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub offered_at: String,
    /// The deadline to answer (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// `accepted`, `refused`, or null while unanswered.
    pub answer: Option<&'static str>,
    /// When it was answered.
    #[schema(format = DateTime)]
    pub answered_at: Option<String>,
    /// Where to answer.
    pub links: OfferLinks,
}

/// Links of an offer.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferLinks {
    /// `POST` the answer here.
    pub answer: String,
}

/// Offers of an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferList {
    /// The offers, oldest first.
    pub offers: Vec<OfferView>,
}

fn offer_view(o: &Offer) -> OfferView {
    OfferView {
        offer: o.id.get(),
        ranking: o.run.get(),
        application: o.application.get(),
        facility: o.facility.clone(),
        section: o.section.clone(),
        time_slot: o.time_slot.clone(),
        offered_at: o.offered_at.to_string(),
        expires_at: o.expires_at.to_string(),
        answer: o.answer.map(Answer::as_str),
        answered_at: o.answered_at.map(|t| t.to_string()),
        links: OfferLinks {
            answer: format!("/api/v1/offers/{}/answer", o.id),
        },
    }
}

/// `GET /api/v1/applications/{id}/offers`.
#[utoipa::path(get, operation_id = "listOffers", path = "/api/v1/applications/{application}/offers", tag = "outcomes",
    params(("application" = i64, Path, description = "Application id")), security(("bearer" = [])),
    responses((status = 200, description = "Seats offered to this application", body = OfferList), crate::openapi::AuthGet))]
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
    Ok(HttpResponse::Ok().json(OfferList {
        offers: list.iter().map(offer_view).collect(),
    }))
}

/// An answer to an offer.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// `accept` or `refuse`.
    #[schema(pattern = "^(accept|refuse)$", example = "accept")]
    pub answer: String,
}

/// `POST /api/v1/offers/{id}/answer`: once, before the offer's deadline.
#[utoipa::path(post, operation_id = "answerOffer", path = "/api/v1/offers/{offer}/answer", tag = "outcomes",
    params(("offer" = i64, Path, description = "Offer id")), request_body = AnswerBody, security(("bearer" = [])),
    responses((status = 200, description = "Answer recorded", body = OfferView), crate::openapi::Write))]
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
                "must be `accept` or `refuse`",
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
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    /// The provisional ranking objected to.
    #[serde(deserialize_with = "crate::body::whole_number")]
    pub ranking: i64,
    /// The objection, as the family writes it.
    #[validate(length(min = 1, max = 20000))]
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
}

/// An objection.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionView {
    /// Id.
    pub objection: i64,
    /// The provisional ranking objected to.
    pub ranking: i64,
    /// The application.
    pub application: i64,
    /// Filed (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub filed_at: String,
    /// The objection as written.
    pub text: String,
    /// `filed`, `accepted`, `rejected`.
    pub status: String,
    /// When the office decided.
    #[schema(format = DateTime)]
    pub decided_at: Option<String>,
    /// The office's decision.
    pub decision: Option<String>,
}

/// Objections of an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectionList {
    /// The objections, oldest first.
    pub objections: Vec<ObjectionView>,
}

fn objection_view(o: &objections::Objection) -> ObjectionView {
    ObjectionView {
        objection: o.id.get(),
        ranking: o.run.get(),
        application: o.application.get(),
        filed_at: o.filed_at.to_string(),
        text: o.body.clone(),
        status: o.status.clone(),
        decided_at: o.decided_at.map(|t| t.to_string()),
        decision: o.decision.clone(),
    }
}

/// `POST /api/v1/applications/{id}/objections`: within the provisional ranking's window.
#[utoipa::path(post, operation_id = "fileObjection", path = "/api/v1/applications/{application}/objections", tag = "outcomes",
    params(("application" = i64, Path, description = "Application id")), request_body = ObjectionBody,
    security(("bearer" = [])),
    responses((status = 201, description = "Objection filed", body = ObjectionView), crate::openapi::Write))]
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
                "no such published ranking of this call",
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
#[utoipa::path(get, operation_id = "listObjections", path = "/api/v1/applications/{application}/objections", tag = "outcomes",
    params(("application" = i64, Path, description = "Application id")), security(("bearer" = [])),
    responses((status = 200, description = "Objections filed for this application", body = ObjectionList), crate::openapi::AuthGet))]
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
    Ok(HttpResponse::Ok().json(ObjectionList {
        objections: list.iter().map(objection_view).collect(),
    }))
}
