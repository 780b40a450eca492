//! Instants as stored: microseconds since 1970-01-01 UTC in a 64-bit integer, identical on both
//! backends (SQLite has no timestamp type; PostgreSQL's would round differently). Calendar questions
//! (the protocol year) are asked in Europe/Rome.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::StoreError;

/// The instant as stored.
pub fn to_db(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// The stored instant.
pub fn from_db(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us)
        .map_err(|e| StoreError::Conflict(format!("a stored instant is out of range: {e}")))
}

/// Italian time, where the protocol register's years begin and end.
pub fn rome() -> Result<TimeZone, StoreError> {
    jiff::tz::db()
        .get("Europe/Rome")
        .map_err(|e| StoreError::Config(format!("time zone Europe/Rome: {e}")))
}

/// The calendar year in Italy at an instant.
pub fn rome_year(t: Timestamp) -> Result<i32, StoreError> {
    Ok(i32::from(t.to_zoned_datetime(rome()?).year()))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn year_turns_at_midnight_in_rome_not_utc() {
        // 31 December 2026, 23:30 UTC is 1 January 2027, 00:30 in Rome (UTC+1 in winter).
        let t: Timestamp = "2026-12-31T23:30:00Z".parse().unwrap();
        assert_eq!(rome_year(t).unwrap(), 2027);
        let t: Timestamp = "2026-12-31T22:59:59Z".parse().unwrap();
        assert_eq!(rome_year(t).unwrap(), 2026);
    }

    #[test]
    fn microseconds_round_trip() {
        let t: Timestamp = "2026-11-24T10:15:30.123456Z".parse().unwrap();
        assert_eq!(from_db(to_db(t)).unwrap(), t);
    }
}
