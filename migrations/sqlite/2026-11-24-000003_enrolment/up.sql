-- Online enrolment: who an application belongs to (the applicant's codice fiscale, from the login or
-- typed by the front desk), the municipality whose front desk may see it, the e-mail for receipts;
-- drafts; idempotency keys of submissions; login sessions.

ALTER TABLE applications ADD COLUMN owner_cf TEXT CHECK (owner_cf IS NULL OR length(owner_cf) IN (11, 16));
ALTER TABLE applications ADD COLUMN municipality_id INTEGER REFERENCES organisations (id);
ALTER TABLE applications ADD COLUMN contact_email TEXT CHECK (contact_email IS NULL OR length(contact_email) <= 254);
CREATE INDEX applications_by_owner ON applications (owner_cf);
CREATE INDEX applications_by_municipality ON applications (municipality_id, call_id);

-- A draft is the family's own work in progress: free to change or delete until it is submitted.
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL REFERENCES calls (id),
    owner_cf TEXT NOT NULL CHECK (length(owner_cf) IN (11, 16)),
    municipality_id INTEGER REFERENCES organisations (id),
    answers TEXT NOT NULL,
    preferences TEXT NOT NULL,
    family TEXT,
    contact_email TEXT CHECK (contact_email IS NULL OR length(contact_email) <= 254),
    created_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    submitted_as INTEGER REFERENCES applications (id)
);
CREATE INDEX drafts_by_owner ON drafts (owner_cf);

-- The same key and body give the same receipt; the key is remembered with the request's hash.
CREATE TABLE idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_sha256 TEXT NOT NULL CHECK (length(request_sha256) = 64),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (owner, key)
);

-- Login sessions: only the SHA-256 of the token is kept, so a copy of the database opens no session.
CREATE TABLE sessions (
    token_sha256 TEXT PRIMARY KEY CHECK (length(token_sha256) = 64),
    user_id INTEGER REFERENCES users (id),
    family_cf TEXT CHECK (family_cf IS NULL OR length(family_cf) IN (11, 16)),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    CHECK ((user_id IS NULL) <> (family_cf IS NULL)),
    CHECK (expires_at > created_at)
);
