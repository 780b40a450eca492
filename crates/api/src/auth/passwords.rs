//! Staff passwords: argon2id with the crate's defaults (19 MiB, 2 passes), stored as PHC strings.
//! Hashing is deliberately slow, so it runs on the blocking pool.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Argon2, PasswordHash};

/// A PHC string for `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches `phc`. A malformed stored hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Spends the time a verification takes, so that an unknown login is not told apart by timing.
pub fn verify_nothing(password: &str) {
    // Hashing costs what verifying costs (the same argon2 parameters, one pass over the password).
    let _ = hash(password);
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = super::hash("correct horse").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse", &h));
        assert!(!super::verify("correct hors", &h));
        assert!(!super::verify("correct horse", "not a hash"));
        assert_ne!(super::hash("correct horse").unwrap_or_default(), h, "salted");
    }
}
