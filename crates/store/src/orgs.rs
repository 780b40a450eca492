//! Municipalities, unions of municipalities, staff users and the roles they hold in each organisation.

use diesel::prelude::*;
use graduatorie_domain::{IstatCode, OrganisationId, UserId};
use jiff::Timestamp;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::{organisations as o, union_members as um, user_roles as ur, users as u};
use crate::time;

/// A municipality or a union.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrganisationKind {
    /// *Comune*.
    Municipality,
    /// *Unione dei Comuni* or *Ufficio di Piano*.
    Union,
}

impl OrganisationKind {
    fn as_str(self) -> &'static str {
        match self {
            OrganisationKind::Municipality => "municipality",
            OrganisationKind::Union => "union",
        }
    }
}

/// What a member of staff may do in an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Front desk: enters and amends applications for families.
    Operator,
    /// Service manager: opens calls, runs and publishes rankings, decides objections.
    Manager,
    /// Reads everything, changes nothing.
    Auditor,
    /// Manages users and organisations.
    Admin,
}

impl Role {
    /// The role's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Manager => "manager",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }
    /// Parses a stored role name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "operator" => Role::Operator,
            "manager" => Role::Manager,
            "auditor" => Role::Auditor,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

/// Creates a municipality or union.
pub fn create_organisation(
    conn: &mut AnyConnection,
    kind: OrganisationKind,
    name: &str,
    istat: Option<&IstatCode>,
    at: Timestamp,
) -> Result<OrganisationId, StoreError> {
    let id = diesel::insert_into(o::table)
        .values((
            o::kind.eq(kind.as_str()),
            o::name.eq(name),
            o::istat_code.eq(istat.map(|c| c.as_str().to_owned())),
            o::created_at.eq(time::to_db(at)),
        ))
        .returning(o::id)
        .get_result::<i64>(conn)?;
    Ok(OrganisationId::new(id))
}

/// Adds a municipality to a union.
pub fn add_union_member(
    conn: &mut AnyConnection,
    union: OrganisationId,
    municipality: OrganisationId,
) -> Result<(), StoreError> {
    diesel::insert_into(um::table)
        .values((
            um::union_id.eq(union.get()),
            um::municipality_id.eq(municipality.get()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The municipalities of a union.
pub fn union_members(
    conn: &mut AnyConnection,
    union: OrganisationId,
) -> Result<Vec<OrganisationId>, StoreError> {
    let ids: Vec<i64> = um::table
        .filter(um::union_id.eq(union.get()))
        .select(um::municipality_id)
        .order(um::municipality_id.asc())
        .load(conn)?;
    Ok(ids.into_iter().map(OrganisationId::new).collect())
}

/// Creates a staff user (authentication details are added by the API layer).
pub fn create_user(
    conn: &mut AnyConnection,
    login: &str,
    display_name: &str,
    at: Timestamp,
) -> Result<UserId, StoreError> {
    let id = diesel::insert_into(u::table)
        .values((
            u::login.eq(login),
            u::display_name.eq(display_name),
            u::created_at.eq(time::to_db(at)),
        ))
        .returning(u::id)
        .get_result::<i64>(conn)?;
    Ok(UserId::new(id))
}

/// Gives a user a role in an organisation (idempotent).
pub fn grant_role(
    conn: &mut AnyConnection,
    user: UserId,
    org: OrganisationId,
    role: Role,
) -> Result<(), StoreError> {
    if roles_of(conn, user)?.contains(&(org, role)) {
        return Ok(());
    }
    diesel::insert_into(ur::table)
        .values((
            ur::user_id.eq(user.get()),
            ur::organisation_id.eq(org.get()),
            ur::role.eq(role.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every role a user holds, by organisation.
pub fn roles_of(conn: &mut AnyConnection, user: UserId) -> Result<Vec<(OrganisationId, Role)>, StoreError> {
    let rows: Vec<(i64, String)> = ur::table
        .filter(ur::user_id.eq(user.get()))
        .select((ur::organisation_id, ur::role))
        .order((ur::organisation_id.asc(), ur::role.asc()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(org, role)| Role::parse(&role).map(|r| (OrganisationId::new(org), r)))
        .collect())
}

/// An organisation as shown to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Id.
    pub id: OrganisationId,
    /// Municipality or union.
    pub kind: OrganisationKind,
    /// Name.
    pub name: String,
    /// ISTAT code of a municipality.
    pub istat_code: Option<String>,
}

/// One organisation.
pub fn get_organisation(conn: &mut AnyConnection, id: OrganisationId) -> Result<Organisation, StoreError> {
    let (kind, name, istat): (String, String, Option<String>) = o::table
        .find(id.get())
        .select((o::kind, o::name, o::istat_code))
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("organisation"))?;
    Ok(Organisation {
        id,
        kind: if kind == "union" {
            OrganisationKind::Union
        } else {
            OrganisationKind::Municipality
        },
        name,
        istat_code: istat,
    })
}

/// Stores a user's password hash (PHC string; the API hashes with argon2).
pub fn set_password_hash(conn: &mut AnyConnection, user: UserId, hash: &str) -> Result<(), StoreError> {
    let n = diesel::update(u::table.find(user.get()))
        .set(u::password_hash.eq(hash))
        .execute(conn)?;
    if n == 0 {
        return Err(StoreError::NotFound("user"));
    }
    Ok(())
}

/// A user who may log in with a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Id.
    pub user: UserId,
    /// Name shown.
    pub display_name: String,
    /// PHC string, if a password is set.
    pub password_hash: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
}

/// Looks a user up by login name.
pub fn find_login(conn: &mut AnyConnection, login: &str) -> Result<Option<Login>, StoreError> {
    let row: Option<(i64, String, Option<String>, Option<i64>)> = u::table
        .filter(u::login.eq(login))
        .select((u::id, u::display_name, u::password_hash, u::disabled_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(id, display_name, password_hash, disabled)| Login {
        user: UserId::new(id),
        display_name,
        password_hash,
        disabled: disabled.is_some(),
    }))
}

/// A user's display name.
pub fn display_name(conn: &mut AnyConnection, user: UserId) -> Result<String, StoreError> {
    u::table
        .find(user.get())
        .select(u::display_name)
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound("user"))
}
