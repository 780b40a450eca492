//! `GET /api/v1/calls` (calls accepting applications) and `GET /api/v1/calls/{id}/form` (the form the
//! call's regulation generates, with its facilities, age sections and, for a union, its towns). Both
//! are public: no login, cacheable for a minute.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use graduatorie_domain::CallId;
use graduatorie_store::calls::{self, CallStatus};
use graduatorie_store::orgs;
use jiff::Timestamp;
use serde_json::json;

use super::access::call_municipalities;
use crate::problem::{Lang, Problem};
use crate::{AppState, blocking};

const PUBLIC: &str = "public, max-age=60";

/// `GET /api/v1/calls`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let lang = Lang::of(&req);
    let listed = blocking::run(&state, lang, |conn, lang| {
        calls::accepting(conn, Timestamp::now()).map_err(blocking::store(lang))
    })
    .await?;
    let body: Vec<_> = listed
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "organisation": { "id": c.organisation, "name": c.organisation_name },
                "service": { "code": c.service_code, "name": c.service_name },
                "school_year": c.school_year,
                "opens_at": c.opens_at.to_string(),
                "closes_at": c.closes_at.to_string(),
                "status": c.status.as_str(),
                "form": format!("/api/v1/calls/{}/form", c.id),
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, PUBLIC))
        .json(json!({ "calls": body })))
}

/// `GET /api/v1/calls/{id}/form`.
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
        let towns = towns
            .into_iter()
            .map(|t| {
                orgs::get_organisation(conn, t)
                    .map(|o| json!({ "id": o.id, "name": o.name, "istat_code": o.istat_code }))
                    .map_err(blocking::store(lang))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let facilities: Vec<_> = seats
            .iter()
            .map(|(code, seats)| {
                let name = names
                    .iter()
                    .find(|(c, _)| c == code)
                    .map_or(code.as_str(), |(_, n)| n.as_str());
                json!({
                    "code": code,
                    "name": name,
                    "seats": seats.iter().map(|s| json!({
                        "section": s.section, "time_slot": s.time_slot, "seats": s.seats,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let sections: Vec<_> = regulation
            .sections()
            .iter()
            .map(|s| json!({ "id": s.id, "label": s.label }))
            .collect();
        Ok(json!({
            "call": {
                "id": call.id,
                "school_year": call.school_year,
                "opens_at": call.opens_at.to_string(),
                "closes_at": call.closes_at.to_string(),
                "status": call.status.as_str(),
                "rules_hash": call.rules_hash,
            },
            "form": regulation.form(),
            "sections": sections,
            "facilities": facilities,
            "municipalities": towns,
        }))
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, PUBLIC))
        .json(body))
}
