//! `GET /api/v1/calls` (calls accepting applications) and `GET /api/v1/calls/{id}/form` (the form the
//! call's regulation generates, with its facilities, age sections and, for a union, its towns). Both
//! are public: no login, cacheable for a minute.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use graduatorie_domain::CallId;
use graduatorie_store::calls::{self, CallStatus};
use graduatorie_store::orgs;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::access::call_municipalities;
use crate::problem::{Lang, Problem};
use crate::{AppState, blocking};

const PUBLIC: &str = "public, max-age=60";

/// The calls accepting applications now.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallList {
    /// Open calls, soonest closing first.
    pub calls: Vec<CallSummary>,
}

/// A call in the list of open calls.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallSummary {
    /// The call's id.
    pub id: i64,
    /// The municipality or union running it.
    pub organisation: Named,
    /// The service (nido, voucher…).
    pub service: Service,
    /// School year, `2026/2027`.
    pub school_year: String,
    /// When applications open (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub opens_at: String,
    /// When applications close (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub closes_at: String,
    /// `open`, `closed`…
    pub status: String,
    /// Where its form is.
    pub form: String,
}

/// An organisation by id and name.
#[derive(Debug, Serialize, ToSchema)]
pub struct Named {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A service.
#[derive(Debug, Serialize, ToSchema)]
pub struct Service {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
}

/// `GET /api/v1/calls`.
#[utoipa::path(get, operation_id = "listCalls", path = "/api/v1/calls", tag = "calls",
    responses((status = 200, description = "Calls accepting applications", body = CallList),
        crate::openapi::PublicRead))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let listed = blocking::run(&state, lang, |conn, lang| {
        calls::accepting(conn, Timestamp::now()).map_err(blocking::store(lang))
    })
    .await?;
    let calls = listed
        .iter()
        .map(|c| CallSummary {
            id: c.id.get(),
            organisation: Named {
                id: c.organisation.get(),
                name: c.organisation_name.clone(),
            },
            service: Service {
                code: c.service_code.clone(),
                name: c.service_name.clone(),
            },
            school_year: c.school_year.clone(),
            opens_at: c.opens_at.to_string(),
            closes_at: c.closes_at.to_string(),
            status: c.status.as_str().to_owned(),
            form: format!("/api/v1/calls/{}/form", c.id),
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, PUBLIC))
        .json(CallList { calls }))
}

/// A call's application form, with what it offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct FormView {
    /// The call.
    pub call: CallHeader,
    /// The fields the regulation asks for (`docs/formats.md`): names, Italian labels and help, types,
    /// allowed values, repetition.
    #[schema(value_type = Object)]
    pub form: serde_json::Value,
    /// Age sections (`lattanti`, `piccoli`…).
    pub sections: Vec<SectionView>,
    /// Facilities with their seats per section and time slot.
    pub facilities: Vec<FacilityView>,
    /// For a union's call: the member towns a family chooses its municipality from.
    pub municipalities: Vec<Town>,
}

/// The call a form belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallHeader {
    /// Id.
    pub id: i64,
    /// School year.
    pub school_year: String,
    /// Opening (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub opens_at: String,
    /// Deadline (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub closes_at: String,
    /// Status.
    pub status: String,
    /// SHA-256 of the regulation's text.
    pub rules_hash: String,
}

/// An age section.
#[derive(Debug, Serialize, ToSchema)]
pub struct SectionView {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
}

/// A facility.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacilityView {
    /// Code, as used in `preferences`.
    pub code: String,
    /// Name.
    pub name: String,
    /// Seats by section and time slot.
    pub seats: Vec<SeatsView>,
}

/// Seats of a facility in one section and time slot.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeatsView {
    /// Section id.
    pub section: String,
    /// Time slot (`full`, `part`…).
    pub time_slot: String,
    /// Seats.
    pub seats: i64,
}

/// A member town.
#[derive(Debug, Serialize, ToSchema)]
pub struct Town {
    /// Id, for `municipality` in an application.
    pub id: i64,
    /// Name.
    pub name: String,
    /// ISTAT code.
    pub istat_code: Option<String>,
}

/// `GET /api/v1/calls/{id}/form`.
#[utoipa::path(get, operation_id = "getForm", path = "/api/v1/calls/{call}/form", tag = "calls",
    params(("call" = i64, Path, description = "Call id")),
    responses((status = 200, description = "The form and what the call offers", body = FormView),
        crate::openapi::PublicGet))]
pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let id = CallId::new(path.into_inner());
    let st = state.clone();
    let body = blocking::run(&state, lang, move |conn, lang| {
        let call = calls::get(conn, id).map_err(blocking::store(lang))?;
        // A call being prepared is not public yet.
        if call.status == CallStatus::Draft {
            return Err(blocking::not_found(lang));
        }
        let regulation = st.rules.for_call(&call, lang)?;
        let seats = calls::facilities(conn, id).map_err(blocking::store(lang))?;
        let names = calls::facility_names(conn, id).map_err(blocking::store(lang))?;
        let towns = call_municipalities(conn, &call, lang)?;
        let municipalities = towns
            .into_iter()
            .map(|t| {
                orgs::get_organisation(conn, t)
                    .map(|o| Town {
                        id: o.id.get(),
                        name: o.name,
                        istat_code: o.istat_code,
                    })
                    .map_err(blocking::store(lang))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let facilities = seats
            .iter()
            .map(|(code, seats)| {
                let name = names
                    .iter()
                    .find(|(c, _)| c == code)
                    .map_or(code.as_str(), |(_, n)| n.as_str());
                FacilityView {
                    code: code.clone(),
                    name: name.to_owned(),
                    seats: seats
                        .iter()
                        .map(|s| SeatsView {
                            section: s.section.clone(),
                            time_slot: s.time_slot.clone(),
                            seats: s.seats,
                        })
                        .collect(),
                }
            })
            .collect();
        let sections = regulation
            .sections()
            .iter()
            .map(|s| SectionView {
                id: s.id.clone(),
                label: s.label.clone(),
            })
            .collect();
        let form = serde_json::to_value(regulation.form()).map_err(|_| blocking::internal(lang))?;
        Ok(FormView {
            call: CallHeader {
                id: call.id.get(),
                school_year: call.school_year,
                opens_at: call.opens_at.to_string(),
                closes_at: call.closes_at.to_string(),
                status: call.status.as_str().to_owned(),
                rules_hash: call.rules_hash,
            },
            form,
            sections,
            facilities,
            municipalities,
        })
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, PUBLIC))
        .json(body))
}
