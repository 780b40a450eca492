//! Drafts: an application being filled in, saved as often as the family likes and checked only on
//! submission. A draft belongs to its applicant; once submitted it points at the application and can
//! no longer change.

use diesel::prelude::*;
use graduatorie_domain::{ApplicationId, CallId, CodiceFiscale, DraftId, OrganisationId, UserId};
use jiff::Timestamp;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::drafts as d;
use crate::time;

/// What a draft holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftContent {
    /// Answers so far (a JSON object).
    pub answers: serde_json::Value,
    /// Facility codes in order of preference.
    pub preferences: Vec<String>,
    /// Family key linking siblings' applications.
    pub family: Option<String>,
    /// Where to send the receipt.
    pub contact_email: Option<String>,
    /// The family's municipality, in a union.
    pub municipality: Option<OrganisationId>,
}

/// A stored draft.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Id.
    pub id: DraftId,
    /// Call.
    pub call: CallId,
    /// Applicant.
    pub owner: String,
    /// Content.
    pub content: DraftContent,
    /// Operator who started it, if entered at a front desk.
    pub created_by: Option<UserId>,
    /// First saved.
    pub created_at: Timestamp,
    /// Last saved.
    pub updated_at: Timestamp,
    /// The application it became.
    pub submitted_as: Option<ApplicationId>,
}

fn texts(c: &DraftContent) -> Result<(String, String), StoreError> {
    if !c.answers.is_object() {
        return Err(StoreError::Conflict("answers: must be a JSON object".into()));
    }
    let prefs = serde_json::to_string(&c.preferences).map_err(|e| StoreError::Conflict(e.to_string()))?;
    Ok((c.answers.to_string(), prefs))
}

/// Saves a new draft.
pub fn create(
    conn: &mut AnyConnection,
    call: CallId,
    owner: &CodiceFiscale,
    content: &DraftContent,
    by: Option<UserId>,
    at: Timestamp,
) -> Result<DraftId, StoreError> {
    let (answers, prefs) = texts(content)?;
    let id = diesel::insert_into(d::table)
        .values((
            d::call_id.eq(call.get()),
            d::owner_cf.eq(owner.as_str()),
            d::municipality_id.eq(content.municipality.map(OrganisationId::get)),
            d::answers.eq(answers),
            d::preferences.eq(prefs),
            d::family.eq(content.family.as_deref()),
            d::contact_email.eq(content.contact_email.as_deref()),
            d::created_by.eq(by.map(UserId::get)),
            d::created_at.eq(time::to_db(at)),
            d::updated_at.eq(time::to_db(at)),
        ))
        .returning(d::id)
        .get_result::<i64>(conn)?;
    Ok(DraftId::new(id))
}

/// Replaces a draft's content, unless it has been submitted.
pub fn update(
    conn: &mut AnyConnection,
    id: DraftId,
    content: &DraftContent,
    at: Timestamp,
) -> Result<(), StoreError> {
    let (answers, prefs) = texts(content)?;
    let n = diesel::update(d::table.find(id.get()).filter(d::submitted_as.is_null()))
        .set((
            d::municipality_id.eq(content.municipality.map(OrganisationId::get)),
            d::answers.eq(answers),
            d::preferences.eq(prefs),
            d::family.eq(content.family.as_deref()),
            d::contact_email.eq(content.contact_email.as_deref()),
            d::updated_at.eq(time::to_db(at)),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "draft {id} has been submitted: amend the application instead"
        )));
    }
    Ok(())
}

/// Deletes a draft not yet submitted.
pub fn delete(conn: &mut AnyConnection, id: DraftId) -> Result<(), StoreError> {
    let n = diesel::delete(d::table.find(id.get()).filter(d::submitted_as.is_null())).execute(conn)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "draft {id} has been submitted: withdraw the application instead"
        )));
    }
    Ok(())
}

/// Links a draft to the application it became (in the submitting transaction).
pub fn mark_submitted(
    conn: &mut AnyConnection,
    id: DraftId,
    application: ApplicationId,
) -> Result<(), StoreError> {
    let n = diesel::update(d::table.find(id.get()).filter(d::submitted_as.is_null()))
        .set(d::submitted_as.eq(application.get()))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "draft {id} has already been submitted"
        )));
    }
    Ok(())
}

type Row = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
);

fn to_draft(r: Row) -> Result<Draft, StoreError> {
    let answers =
        serde_json::from_str(&r.4).map_err(|e| StoreError::Conflict(format!("stored draft: {e}")))?;
    let preferences =
        serde_json::from_str(&r.5).map_err(|e| StoreError::Conflict(format!("stored draft: {e}")))?;
    Ok(Draft {
        id: DraftId::new(r.0),
        call: CallId::new(r.1),
        owner: r.2,
        content: DraftContent {
            answers,
            preferences,
            family: r.6,
            contact_email: r.7,
            municipality: r.3.map(OrganisationId::new),
        },
        created_by: r.8.map(UserId::new),
        created_at: time::from_db(r.9)?,
        updated_at: time::from_db(r.10)?,
        submitted_as: r.11.map(ApplicationId::new),
    })
}

macro_rules! columns {
    () => {
        (
            d::id,
            d::call_id,
            d::owner_cf,
            d::municipality_id,
            d::answers,
            d::preferences,
            d::family,
            d::contact_email,
            d::created_by,
            d::created_at,
            d::updated_at,
            d::submitted_as,
        )
    };
}

/// A draft by id.
pub fn get(conn: &mut AnyConnection, id: DraftId) -> Result<Draft, StoreError> {
    let row: Row = d::table
        .find(id.get())
        .select(columns!())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("draft"))?;
    to_draft(row)
}

/// The drafts of an applicant not yet submitted, newest first.
pub fn of_owner(conn: &mut AnyConnection, owner: &CodiceFiscale) -> Result<Vec<Draft>, StoreError> {
    let rows: Vec<Row> = d::table
        .filter(d::owner_cf.eq(owner.as_str()))
        .filter(d::submitted_as.is_null())
        .order(d::id.desc())
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(to_draft).collect()
}
