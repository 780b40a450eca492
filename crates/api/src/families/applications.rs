//! Applications: submit (`POST /api/v1/calls/{id}/applications`), list mine, read one with its
//! history, amend before the deadline, withdraw; and the front desk's search.
//!
//! A submission is checked against the call's regulation, then handed to the batching writer, which
//! answers only once it is committed: an acknowledged submission is durable. With an
//! `Idempotency-Key`, the same key and body give the same receipt; the same key with another body is
//! refused (422).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use graduatorie_domain::{ApplicationId, CallId, CodiceFiscale, OrganisationId, ProtocolNumber};
use graduatorie_store::AnyConnection;
use graduatorie_store::applications::{self, Application, DeskQuery, IdempotencyKey, Submission, Submitted};
use graduatorie_store::calls::{self, Call, CallStatus};
use graduatorie_store::orgs::Role;
use graduatorie_store::{StoreError, drafts};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::access::{self, Access, acting_user};
use super::body::{self as app_body, ApplicationBody};
use crate::auth::{Principal, hex};
use crate::problem::{FieldError, Kind, Lang, Problem};
use crate::{AppState, blocking, body};

/// The `Idempotency-Key` header: 1–200 visible ASCII characters.
fn idempotency_key(req: &HttpRequest, lang: Lang) -> Result<Option<String>, Problem> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    key.map(|k| Some(k.to_owned())).ok_or_else(|| {
        Problem::new(
            Kind::BadRequest,
            lang,
            "L'intestazione Idempotency-Key deve avere da 1 a 200 caratteri ASCII visibili.",
            "The Idempotency-Key header must be 1 to 200 visible ASCII characters.",
        )
    })
}

fn sha256_json(v: &serde_json::Value) -> String {
    hex(&Sha256::digest(v.to_string().as_bytes()))
}

/// The receipt of a submission or amendment: what was recorded, when, under which protocol number.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    /// The application's id.
    pub application: i64,
    /// The call.
    pub call: i64,
    /// Protocol number, `2026/000123`: the same for every version.
    pub protocol: String,
    /// When the first version was submitted (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// 0 on time, 1… late batches.
    pub batch: i32,
    /// Version, from 1; each amendment adds one.
    pub version: i32,
    /// `submitted`, `withdrawn`…
    pub status: String,
    /// SHA-256 of what was recorded (id, protocol, time, version, answers, preferences): a family can
    /// keep it and show later that this is what it declared.
    pub receipt_sha256: String,
    /// Where to read, amend and withdraw it.
    pub links: ReceiptLinks,
}

/// Links of a receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLinks {
    /// The application.
    #[serde(rename = "self")]
    pub this: String,
    /// `PUT` here to amend before the deadline.
    pub amend: String,
    /// `POST` here to withdraw.
    pub withdraw: String,
}

/// The receipt of a submission or amendment.
pub fn receipt(app: &Application) -> Receipt {
    let digest = sha256_json(&json!({
        "application": app.id,
        "protocol": app.protocol.to_string(),
        "submitted_at": app.submitted_at.to_string(),
        "version": app.version,
        "inputs": app.answers,
        "preferences": app.preferences,
    }));
    Receipt {
        application: app.id.get(),
        call: app.call.get(),
        protocol: app.protocol.to_string(),
        submitted_at: app.submitted_at.to_string(),
        batch: app.batch,
        version: app.version,
        status: app.status.clone(),
        receipt_sha256: digest,
        links: ReceiptLinks {
            this: format!("/api/v1/applications/{}", app.id),
            amend: format!("/api/v1/applications/{}", app.id),
            withdraw: format!("/api/v1/applications/{}/withdraw", app.id),
        },
    }
}

fn call_for_families(conn: &mut AnyConnection, id: CallId, lang: Lang) -> Result<Call, Problem> {
    let call = calls::get(conn, id).map_err(blocking::store(lang))?;
    if call.status == CallStatus::Draft {
        return Err(blocking::not_found(lang));
    }
    Ok(call)
}

fn checked_preferences(
    state: &AppState,
    conn: &mut AnyConnection,
    call: &Call,
    b: &ApplicationBody,
    lang: Lang,
) -> Result<Vec<graduatorie_domain::FacilityCode>, Problem> {
    let regulation = state.rules.for_call(call, lang)?;
    let facilities: Vec<String> = calls::facilities(conn, call.id)
        .map_err(blocking::store(lang))?
        .into_iter()
        .map(|(code, _)| code)
        .collect();
    app_body::check(&regulation, &facilities, b, lang).map_err(|errors| Problem::invalid(lang, errors))
}

fn not_open_yet(lang: Lang) -> Problem {
    Problem::new(
        Kind::Conflict,
        lang,
        "Il bando non è ancora aperto: le domande si presentano dalla data di apertura.",
        "The call is not open yet: applications are accepted from its opening date.",
    )
}

/// What a submission needs once checked.
enum Prepared {
    /// The same key and body came before: this is its application.
    Replay(ApplicationId),
    /// Ready for the writer.
    New(Box<Submission>),
}

/// Where a submission comes from: a body, or a draft being submitted.
pub struct Source {
    /// The body.
    pub body: ApplicationBody,
    /// The draft it comes from.
    pub draft: Option<graduatorie_domain::DraftId>,
}

/// One submission attempt.
struct Attempt {
    who: Principal,
    call: CallId,
    source: Source,
    key: Option<String>,
    now: Timestamp,
}

fn prepare(
    state: &AppState,
    conn: &mut AnyConnection,
    attempt: &Attempt,
    lang: Lang,
) -> Result<Prepared, Problem> {
    let Attempt {
        who,
        call: call_id,
        source,
        key,
        now,
    } = attempt;
    let (call_id, now) = (*call_id, *now);
    let call = call_for_families(conn, call_id, lang)?;
    let b = &source.body;
    let idempotency = key.as_deref().map(|k| IdempotencyKey {
        owner: who.pseudonym(),
        key: k.to_owned(),
        request_sha256: sha256_json(&json!({ "call": call_id, "body": b.content(), "draft": source.draft })),
    });
    if let Some(k) = &idempotency
        && let Some((hash, id)) =
            applications::by_idempotency_key(conn, &k.owner, &k.key).map_err(blocking::store(lang))?
    {
        return if hash == k.request_sha256 {
            Ok(Prepared::Replay(id))
        } else {
            Err(key_reused(lang))
        };
    }
    if now < call.opens_at {
        return Err(not_open_yet(lang));
    }
    let preferences = checked_preferences(state, conn, &call, b, lang)?;
    let applicant = access::applicant(conn, who, &call, b, lang)?;
    Ok(Prepared::New(Box::new(Submission {
        call: call.id,
        answers: serde_json::Value::Object(b.inputs.clone()),
        preferences,
        family: b.family.clone(),
        by: applicant.by,
        owner: Some(applicant.owner),
        municipality: applicant.municipality,
        contact_email: b.contact_email.clone(),
        idempotency,
    })))
}

fn key_reused(lang: Lang) -> Problem {
    Problem::new(
        Kind::IdempotencyMismatch,
        lang,
        "Questa Idempotency-Key è già stata usata per una domanda diversa: usare una chiave nuova per una domanda nuova.",
        "This Idempotency-Key was already used for a different application: use a new key for a new application.",
    )
}

/// Checks and submits; the answer of `POST …/applications` and `POST /api/v1/drafts/{id}/submit`.
pub async fn submit_from(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    who: &Principal,
    call_id: CallId,
    source: Source,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(req);
    // A draft submitted without a key gets one of its own (with a space, which no client key has):
    // two clicks on "submit" sent at once make one application, and the second gets its receipt.
    let key = idempotency_key(req, lang)?.or_else(|| source.draft.map(|d| format!("draft {d}")));
    let now = Timestamp::now();
    let draft = source.draft;
    let prepared = {
        let st = state.clone();
        let attempt = Attempt {
            who: who.clone(),
            call: call_id,
            source,
            key,
            now,
        };
        blocking::run(state, lang, move |conn, lang| prepare(&st, conn, &attempt, lang)).await?
    };
    let submission = match prepared {
        Prepared::Replay(id) => return replay(state, lang, id).await,
        Prepared::New(s) => s,
    };
    let writer = state.writer.clone();
    let idempotency = submission.idempotency.clone();
    // The writer answers after the commit; the connection of the checks above is already back in
    // the pool, so a full pool cannot stall the writer.
    let submitted: Result<Submitted, StoreError> =
        blocking::run_plain(lang, move || Ok(writer.submit(*submission, now))).await?;
    let submitted = match (submitted, idempotency) {
        (Ok(s), _) => s,
        // A concurrent request with the same key won the race: answer as it was answered.
        (Err(StoreError::Refused(_)), Some(k)) => {
            let found = blocking::run(state, lang, move |conn, lang| {
                applications::by_idempotency_key(conn, &k.owner, &k.key)
                    .map_err(blocking::store(lang))
                    .map(|f| f.map(|(hash, id)| (hash == k.request_sha256, id)))
            })
            .await?;
            return match found {
                Some((true, id)) => replay(state, lang, id).await,
                Some((false, _)) => Err(key_reused(lang)),
                None => Err(blocking::unavailable(lang)),
            };
        }
        (Err(e), _) => return Err(blocking::store_problem(lang, e)),
    };
    if let Some(draft) = draft {
        // The draft is linked after the fact: the application stands on its own if this fails.
        let id = submitted.application;
        let linked = blocking::run(state, lang, move |conn, lang| {
            drafts::mark_submitted(conn, draft, id).map_err(blocking::store(lang))
        })
        .await;
        if linked.is_err() {
            tracing::warn!(operation = "draft.submit", outcome = "draft_not_linked", draft = %draft);
        }
    }
    tracing::info!(
        operation = "application.submit",
        outcome = "submitted",
        application = %submitted.application,
        protocol = %submitted.protocol,
    );
    let id = submitted.application;
    let app = blocking::run(state, lang, move |conn, lang| {
        applications::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/applications/{id}")))
        .json(receipt(&app)))
}

async fn replay(state: &web::Data<AppState>, lang: Lang, id: ApplicationId) -> Result<HttpResponse, Problem> {
    let app = blocking::run(state, lang, move |conn, lang| {
        applications::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Idempotent-Replayed", "true"))
        .json(receipt(&app)))
}

/// `POST /api/v1/calls/{id}/applications`.
#[utoipa::path(post, operation_id = "submitApplication", path = "/api/v1/calls/{call}/applications", tag = "applications",
    params(("call" = i64, Path, example = 1, description = "Call id"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "1–200 visible ASCII characters; the same key and body give the same receipt")),
    request_body(content = ApplicationBody, example = crate::openapi::application_example), security(("bearer" = [])),
    responses((status = 201, description = "Submitted and durably stored", body = Receipt,
            links(("getApplication" = (operation_id = "getApplication", parameters(("application" = "$response.body#/application")))), ("amendApplication" = (operation_id = "amendApplication", parameters(("application" = "$response.body#/application")))), ("withdrawApplication" = (operation_id = "withdrawApplication", parameters(("application" = "$response.body#/application")))), ("getResults" = (operation_id = "getResults", parameters(("application" = "$response.body#/application")))), ("listOffers" = (operation_id = "listOffers", parameters(("application" = "$response.body#/application")))), ("listObjections" = (operation_id = "listObjections", parameters(("application" = "$response.body#/application")))), ("fileObjection" = (operation_id = "fileObjection", parameters(("application" = "$response.body#/application")))))),
        (status = 200, description = "Replay of an earlier request with the same key and body", body = Receipt),
        crate::openapi::Write))]
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let b: ApplicationBody = body::parse(&req, &bytes)?;
    let call = CallId::new(path.into_inner());
    submit_from(&req, &state, &who, call, Source { body: b, draft: None }).await
}

/// An application in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// Id.
    pub application: i64,
    /// The call.
    pub call: i64,
    /// Protocol number.
    pub protocol: String,
    /// First submission (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub submitted_at: String,
    /// Status.
    pub status: String,
    /// Current version.
    pub version: i32,
    /// 0 on time, 1… late batches.
    pub batch: i32,
    /// Where to read it.
    pub links: SelfLink,
}

/// A link to the thing itself.
#[derive(Debug, Serialize, ToSchema)]
pub struct SelfLink {
    /// The address.
    #[serde(rename = "self")]
    pub this: String,
}

/// A list of applications.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationList {
    /// The applications.
    pub applications: Vec<Summary>,
}

fn summary(app: &Application) -> Summary {
    Summary {
        application: app.id.get(),
        call: app.call.get(),
        protocol: app.protocol.to_string(),
        submitted_at: app.submitted_at.to_string(),
        status: app.status.clone(),
        version: app.version,
        batch: app.batch,
        links: SelfLink {
            this: format!("/api/v1/applications/{}", app.id),
        },
    }
}

fn list(apps: &[Application]) -> ApplicationList {
    ApplicationList {
        applications: apps.iter().map(summary).collect(),
    }
}

/// An application with everything it declares, its versions and its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The receipt of the current version.
    #[serde(flatten)]
    pub receipt: Receipt,
    /// The answers by the form's field names.
    #[schema(value_type = Object)]
    pub inputs: serde_json::Value,
    /// Facility codes, most wanted first.
    pub preferences: Vec<String>,
    /// Key shared by siblings' applications.
    pub family: Option<String>,
    /// Where receipts are sent.
    pub contact_email: Option<String>,
    /// The family's municipality (a union's call).
    pub municipality: Option<i64>,
    /// Every version.
    pub versions: Vec<VersionView>,
    /// Every change of status.
    pub history: Vec<StatusChange>,
}

/// A version of an application.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    /// Number, from 1.
    pub version: i32,
    /// When it was saved (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub saved_at: String,
}

/// A change of status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    /// The new status.
    pub status: String,
    /// When (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub at: String,
}

/// `GET /api/v1/applications`: a family's own applications.
#[utoipa::path(get, operation_id = "listMyApplications", path = "/api/v1/applications", tag = "applications", security(("bearer" = [])),
    responses((status = 200, description = "The family's applications", body = ApplicationList), crate::openapi::FamilyRead))]
pub async fn mine(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let Principal::Family { cf, .. } = who else {
        return Err(Problem::new(
            Kind::Forbidden,
            lang,
            "Il personale cerca le domande da /api/v1/desk/applications.",
            "Staff search applications at /api/v1/desk/applications.",
        ));
    };
    let apps = blocking::run(&state, lang, move |conn, lang| {
        applications::of_owner(conn, &cf).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok().json(list(&apps)))
}

/// An application the caller may see, with its call, or 404.
pub fn visible(
    conn: &mut AnyConnection,
    who: &Principal,
    id: ApplicationId,
    need: Access,
    lang: Lang,
) -> Result<(Application, Call), Problem> {
    let app = applications::get(conn, id).map_err(blocking::store(lang))?;
    let call = calls::get(conn, app.call).map_err(blocking::store(lang))?;
    let granted = access::access(who, &app, &call);
    let enough = match need {
        Access::Act => granted == Access::Act,
        Access::Read => granted != Access::None,
        Access::None => true,
    };
    if !enough {
        return Err(blocking::not_found(lang));
    }
    Ok((app, call))
}

/// `GET /api/v1/applications/{id}`: answers, preferences, every version and the status history.
#[utoipa::path(get, operation_id = "getApplication", path = "/api/v1/applications/{application}", tag = "applications",
    params(("application" = i64, Path, description = "Application id")), security(("bearer" = [])),
    responses((status = 200, description = "The application, its versions and history", body = ApplicationView), crate::openapi::AuthGet))]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = ApplicationId::new(path.into_inner());
    let body = blocking::run(&state, lang, move |conn, lang| {
        let (app, _) = visible(conn, &who, id, Access::Read, lang)?;
        let versions = applications::versions(conn, id).map_err(blocking::store(lang))?;
        let history = applications::history(conn, id).map_err(blocking::store(lang))?;
        let body = ApplicationView {
            receipt: receipt(&app),
            inputs: app.answers,
            preferences: app.preferences,
            family: app.family,
            contact_email: app.contact_email,
            municipality: app.municipality.map(OrganisationId::get),
            versions: versions
                .iter()
                .map(|(v, _, at)| VersionView {
                    version: *v,
                    saved_at: at.to_string(),
                })
                .collect(),
            history: history
                .into_iter()
                .map(|(status, at)| StatusChange {
                    status,
                    at: at.to_string(),
                })
                .collect(),
        };
        Ok(body)
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `PUT /api/v1/applications/{id}`: a new version, same application and protocol number, until the
/// deadline.
#[utoipa::path(put, operation_id = "amendApplication", path = "/api/v1/applications/{application}", tag = "applications",
    params(("application" = i64, Path, description = "Application id")), request_body = app_body::AmendmentBody,
    security(("bearer" = [])),
    responses((status = 200, description = "Amended: a new version, same protocol", body = Receipt), crate::openapi::Write))]
pub async fn amend(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
    bytes: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let b: ApplicationBody = body::parse::<app_body::AmendmentBody>(&req, &bytes)?.into();
    let id = ApplicationId::new(path.into_inner());
    let st = state.clone();
    let app = blocking::run(&state, lang, move |conn, lang| {
        let (app, call) = visible(conn, &who, id, Access::Act, lang)?;
        let preferences = checked_preferences(&st, conn, &call, &b, lang)?;
        let s = Submission {
            call: call.id,
            answers: serde_json::Value::Object(b.inputs.clone()),
            preferences,
            family: b.family.clone(),
            by: acting_user(&who),
            owner: None,
            municipality: None,
            contact_email: b.contact_email.clone(),
            idempotency: None,
        };
        applications::amend(conn, app.id, &s, Timestamp::now()).map_err(blocking::store(lang))?;
        applications::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    tracing::info!(operation = "application.amend", outcome = "amended", application = %id, version = app.version);
    Ok(HttpResponse::Ok().json(receipt(&app)))
}

/// `POST /api/v1/applications/{id}/withdraw`.
#[utoipa::path(post, operation_id = "withdrawApplication", path = "/api/v1/applications/{application}/withdraw", tag = "applications",
    params(("application" = i64, Path, description = "Application id")), security(("bearer" = [])),
    responses((status = 200, description = "Withdrawn", body = Summary), crate::openapi::Act))]
pub async fn withdraw(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = ApplicationId::new(path.into_inner());
    let app = blocking::run(&state, lang, move |conn, lang| {
        let (app, _) = visible(conn, &who, id, Access::Act, lang)?;
        let by = acting_user(&who);
        let reason = if by.is_some() {
            "ritirata allo sportello"
        } else {
            "ritirata dalla famiglia"
        };
        applications::withdraw(conn, app.id, by, reason, Timestamp::now()).map_err(blocking::store(lang))?;
        applications::get(conn, id).map_err(blocking::store(lang))
    })
    .await?;
    tracing::info!(operation = "application.withdraw", outcome = "withdrawn", application = %id);
    Ok(HttpResponse::Ok().json(summary(&app)))
}

/// Front-desk search parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeskParams {
    /// Only this call.
    pub call: Option<i64>,
    /// Only this protocol number (`2026/000123`).
    pub protocol: Option<String>,
    /// Only this applicant.
    pub codice_fiscale: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<i64>,
}

/// `GET /api/v1/desk/applications`: an operator's search among the applications of their
/// municipalities.
#[utoipa::path(get, operation_id = "searchDeskApplications", path = "/api/v1/desk/applications", tag = "front desk", params(DeskParams),
    security(("bearer" = [])),
    responses((status = 200, description = "Applications of the operator's municipalities", body = ApplicationList),
        crate::openapi::Desk))]
pub async fn desk_search(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: Principal,
    params: web::Query<DeskParams>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let desks = who.orgs_with(Role::Operator);
    if desks.is_empty() {
        return Err(Problem::new(
            Kind::Forbidden,
            lang,
            "Riservato agli operatori di sportello.",
            "For front-desk operators only.",
        ));
    }
    let p = params.into_inner();
    let mut errors = Vec::new();
    let protocol = p.protocol.as_deref().and_then(|s| {
        ProtocolNumber::parse(s)
            .map_err(|_| {
                errors.push(FieldError::new(
                    lang,
                    "/protocol",
                    "numero di protocollo non valido (es. 2026/000123)",
                    "not a protocol number (e.g. 2026/000123)",
                ))
            })
            .ok()
    });
    let owner = p.codice_fiscale.as_deref().and_then(|s| {
        CodiceFiscale::parse(s)
            .map_err(|e| errors.push(FieldError::codice_fiscale(lang, "/codice_fiscale", &e)))
            .ok()
    });
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new(lang, "/limit", "da 1 a 200", "from 1 to 200"));
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(lang, errors));
    }
    let query = DeskQuery {
        call: p.call.map(CallId::new),
        protocol,
        owner,
    };
    let apps = blocking::run(&state, lang, move |conn, lang| {
        applications::of_municipalities(conn, &desks, &query, limit).map_err(blocking::store(lang))
    })
    .await?;
    Ok(HttpResponse::Ok().json(list(&apps)))
}
