//! Login sessions: a random token given to the client once, of which only the SHA-256 is kept, so a
//! copy of the database opens no session. A session belongs to a member of staff or to a family
//! (through the development login); it expires and can be revoked.

use diesel::prelude::*;
use graduatorie_domain::{CodiceFiscale, UserId};
use jiff::Timestamp;

use crate::connection::AnyConnection;
use crate::error::StoreError;
use crate::schema::sessions as se;
use crate::time;

/// Whose session it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOwner {
    /// A member of staff.
    User(UserId),
    /// A family, by the applicant's codice fiscale.
    Family(CodiceFiscale),
}

/// Records a session for the token whose SHA-256 (hex) is `token_sha256`.
pub fn create(
    conn: &mut AnyConnection,
    token_sha256: &str,
    owner: &SessionOwner,
    at: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    let (user, cf) = match owner {
        SessionOwner::User(u) => (Some(u.get()), None),
        SessionOwner::Family(cf) => (None, Some(cf.as_str())),
    };
    diesel::insert_into(se::table)
        .values((
            se::token_sha256.eq(token_sha256),
            se::user_id.eq(user),
            se::family_cf.eq(cf),
            se::created_at.eq(time::to_db(at)),
            se::expires_at.eq(time::to_db(expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The owner of a live session (not expired at `now`, not revoked), if any.
pub fn find(
    conn: &mut AnyConnection,
    token_sha256: &str,
    now: Timestamp,
) -> Result<Option<SessionOwner>, StoreError> {
    let row: Option<(Option<i64>, Option<String>)> = se::table
        .find(token_sha256)
        .filter(se::expires_at.gt(time::to_db(now)))
        .filter(se::revoked_at.is_null())
        .select((se::user_id, se::family_cf))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((Some(user), _)) => Some(SessionOwner::User(UserId::new(user))),
        Some((None, Some(cf))) => CodiceFiscale::parse(&cf).ok().map(SessionOwner::Family),
        _ => None,
    })
}

/// Ends a session; revoking one already ended is not an error.
pub fn revoke(conn: &mut AnyConnection, token_sha256: &str, at: Timestamp) -> Result<(), StoreError> {
    diesel::update(se::table.find(token_sha256).filter(se::revoked_at.is_null()))
        .set(se::revoked_at.eq(time::to_db(at)))
        .execute(conn)?;
    Ok(())
}
