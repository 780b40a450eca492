//! Drafts (`/api/v1/drafts`): an application in progress, saved as often as wanted and checked only
//! when submitted (`POST /api/v1/drafts/{id}/submit`). Only the applicant sees a draft (or the
//! operator who started it at the front desk, on the family's behalf).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use graduatorie_domain::{ApplicationId, CallId, DraftId, OrganisationId};
use graduatorie_store::AnyConnection;
use graduatorie_store::drafts::{self, Draft, DraftContent};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::applications::{Receipt, Source, submit_from};
use super::body::ApplicationBody;
use crate::auth::Principal;
use crate::problem::{Lang, Problem};
use crate::{AppState, blocking, body};

fn content(b: &ApplicationBody) -> DraftContent {
    DraftContent {
        answers: serde_json::Value::Object(b.inputs.clone()),
        preferences: b.preferences.clone(),
        family: b.family.clone(),
        contact_email: b.contact_email.clone(),
        municipality: b.municipality.map(OrganisationId::new),
    }
}

/// A draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftView {
    /// Id.
    pub draft: i64,
    /// The call.
    pub call: i64,
    /// Answers so far, by the form's field names.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// Facility codes so far.
    pub preferences: Vec<String>,
    /// Key shared by siblings' applications.
    pub family: Option<String>,
    /// Where the receipt will be sent.
    pub contact_email: Option<String>,
    /// The family's municipality (a union's call).
    pub municipality: Option<i64>,
    /// Created (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last saved (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The application it became, once submitted.
    pub submitted_as: Option<i64>,
    /// Where to read, submit it and find its form.
    pub links: DraftLinks,
}

/// Links of a draft.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftLinks {
    /// The draft.
    #[serde(rename = "self")]
    pub this: String,
    /// `POST` here to submit it.
    pub submit: String,
    /// The call's form.
    pub form: String,
}

/// A list of drafts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DraftList {
    /// The drafts.
    pub drafts: Vec<DraftView>,
}

fn view(d: &Draft) -> DraftView {
    DraftView {
        draft: d.id.get(),
        call: d.call.get(),
        inputs: d.content.answers.clone(),
        preferences: d.content.preferences.clone(),
        family: d.content.family.clone(),
        contact_email: d.content.contact_email.clone(),
        municipality: d.content.municipality.map(OrganisationId::get),
        created_at: d.created_at.to_string(),
        updated_at: d.updated_at.to_string(),
        submitted_as: d.submitted_as.map(ApplicationId::get),
        links: DraftLinks {
            this: format!("/api/v1/drafts/{}", d.id),
            submit: format!("/api/v1/drafts/{}/submit", d.id),
            form: format!("/api/v1/calls/{}/form", d.call),
        },
    }
}

/// A draft the caller may use, or 404.
fn mine(conn: &mut AnyConnection, who: &Principal, id: DraftId, lang: Lang) -> Result<Draft, Problem> {
    let d = drafts::get(conn, id).map_err(blocking::store(lang))?;
    let allowed = match who {
        Principal::Family { cf, .. } => d.owner == cf.as_str() && d.created_by.is_none(),
        Principal::Staff { user, .. } => d.created_by == Some(*user),
    };
    if allowed {
        Ok(d)
    } else {
        Err(blocking::not_found(lang))
    }
}

/// `POST /api/v1/calls/{id}/drafts`: whatever part of the application is ready.
#[utoipa::path(post, operation_id = "createDraft", path = "/api/v1/calls/{call}/drafts", tag = "drafts",
    params(("call" = i64, Path, example = 1, description = "Call id")),
    request_body(content = ApplicationBody, example = crate::openapi::application_example), security(("bearer" = [])),
    responses((status = 201, description = "Draft saved", body = DraftView,
            links(("getDraft" = (operation_id = "getDraft", parameters(("draft" = "$response.body#/draft")))), ("updateDraft" = (operation_id = "updateDraft", parameters(("draft" = "$response.body#/draft")))), ("submitDraft" = (operation_id = "submitDraft", parameters(("draft" = "$response.body#/draft")))), ("deleteDraft" = (operation_id = "deleteDraft", parameters(("draft" = "$response.body#/draft")))))), crate::openapi::Write))]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: ApplicationBody = body::parse(&req, &bytes)?;
    let owner = super::access::applicant_cf(&who, &b, lang)?;
    let by = super::access::acting_user(&who);
    let call = CallId::new(path.into_inner());
    let d = blocking::run(&state, lang, move |conn, lang| {
        let call = graduatorie_store::calls::get(conn, call).map_err(blocking::store(lang))?;
        if call.status == graduatorie_store::calls::CallStatus::Draft {
            return Err(blocking::not_found(lang));
        }
        let id = drafts::create(conn, call.id, &owner, &content(&b), by, Timestamp::now())
            .map_err(blocking::store(lang))?;
        drafts::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/drafts/{}", d.id)))
        .json(view(&d)))
}

/// `GET /api/v1/drafts`: a family's drafts not yet submitted (an operator's: those they started).
#[utoipa::path(get, operation_id = "listDrafts", path = "/api/v1/drafts", tag = "drafts", security(("bearer" = [])),
    responses((status = 200, description = "The caller's drafts", body = DraftList), crate::openapi::AuthRead))]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let list = blocking::run(&state, lang, move |conn, lang| match &who {
        Principal::Family { cf, .. } => Ok(drafts::of_owner(conn, cf)
            .map_err(blocking::store(lang))?
            .into_iter()
            .filter(|d| d.created_by.is_none())
            .collect::<Vec<_>>()),
        Principal::Staff { .. } => Ok(Vec::new()),
    })
    .await?;
    Ok(HttpResponse::Ok().json(DraftList {
        drafts: list.iter().map(view).collect(),
    }))
}

/// `GET /api/v1/drafts/{id}`.
#[utoipa::path(get, operation_id = "getDraft", path = "/api/v1/drafts/{draft}", tag = "drafts",
    params(("draft" = i64, Path, description = "Draft id")), security(("bearer" = [])),
    responses((status = 200, description = "The draft", body = DraftView), crate::openapi::AuthGet))]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = DraftId::new(path.into_inner());
    let d = blocking::run(&state, lang, move |conn, lang| mine(conn, &who, id, lang)).await?;
    Ok(HttpResponse::Ok().json(view(&d)))
}

/// `PUT /api/v1/drafts/{id}`: replaces the draft's content.
#[utoipa::path(put, operation_id = "updateDraft", path = "/api/v1/drafts/{draft}", tag = "drafts",
    params(("draft" = i64, Path, description = "Draft id")), request_body = ApplicationBody, security(("bearer" = [])),
    responses((status = 200, description = "Draft saved", body = DraftView), crate::openapi::Write))]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: ApplicationBody = body::parse(&req, &bytes)?;
    let id = DraftId::new(path.into_inner());
    let d = blocking::run(&state, lang, move |conn, lang| {
        let d = mine(conn, &who, id, lang)?;
        if let Some(cf) = &b.codice_fiscale
            && cf != &d.owner
        {
            return Err(Problem::invalid_field(
                lang,
                "/codice_fiscale",
                "il richiedente di una bozza non cambia",
                "the applicant of a draft does not change",
            ));
        }
        drafts::update(conn, id, &content(&b), Timestamp::now()).map_err(blocking::store(lang))?;
        drafts::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok().json(view(&d)))
}

/// `DELETE /api/v1/drafts/{id}`.
#[utoipa::path(delete, operation_id = "deleteDraft", path = "/api/v1/drafts/{draft}", tag = "drafts",
    params(("draft" = i64, Path, description = "Draft id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), crate::openapi::Act))]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = DraftId::new(path.into_inner());
    blocking::run(&state, lang, move |conn, lang| {
        mine(conn, &who, id, lang)?;
        drafts::delete(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/drafts/{id}/submit`: checks the draft as a submission and submits it.
#[utoipa::path(post, operation_id = "submitDraft", path = "/api/v1/drafts/{draft}/submit", tag = "drafts",
    params(("draft" = i64, Path, description = "Draft id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "As for a submission")),
    security(("bearer" = [])),
    responses((status = 201, description = "Submitted and durably stored", body = Receipt,
            links(("getApplication" = (operation_id = "getApplication", parameters(("application" = "$response.body#/application")))), ("amendApplication" = (operation_id = "amendApplication", parameters(("application" = "$response.body#/application")))), ("withdrawApplication" = (operation_id = "withdrawApplication", parameters(("application" = "$response.body#/application")))), ("getResults" = (operation_id = "getResults", parameters(("application" = "$response.body#/application")))), ("listOffers" = (operation_id = "listOffers", parameters(("application" = "$response.body#/application")))), ("listObjections" = (operation_id = "listObjections", parameters(("application" = "$response.body#/application")))), ("fileObjection" = (operation_id = "fileObjection", parameters(("application" = "$response.body#/application")))))),
        (status = 200, description = "Replay of an earlier request with the same key", body = Receipt),
        crate::openapi::Write))]
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = DraftId::new(path.into_inner());
    let d = {
        let who = who.clone();
        blocking::run(&state, lang, move |conn, lang| mine(conn, &who, id, lang)).await?
    };
    let inputs = match d.content.answers {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let b = ApplicationBody {
        inputs,
        preferences: d.content.preferences,
        family: d.content.family,
        contact_email: d.content.contact_email,
        municipality: d.content.municipality.map(OrganisationId::get),
        codice_fiscale: d.created_by.map(|_| d.owner.clone()),
    };
    if let Some(done) = d.submitted_as {
        // Only a retry of the submission that made it (same key) gets an answer other than 409;
        // a new key must not make a second application out of the same draft.
        let key = req
            .headers()
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(|k| k.trim().to_owned());
        let owner = who.pseudonym();
        let retry = match key {
            Some(key) => blocking::run(&state, lang, move |conn, lang| {
                graduatorie_store::applications::by_idempotency_key(conn, &owner, &key)
                    .map_err(blocking::store(lang))
            })
            .await?
            .is_some_and(|(_, app)| app == done),
            None => false,
        };
        if !retry {
            return Err(blocking::store_problem(
                lang,
                graduatorie_store::StoreError::Conflict(format!("draft {id} has already been submitted")),
            ));
        }
    }
    submit_from(
        &req,
        &state,
        &who,
        d.call,
        Source {
            body: b,
            draft: Some(id),
        },
    )
    .await
}
