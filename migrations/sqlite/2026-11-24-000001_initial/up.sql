-- graduatorie, initial schema (SQLite). Kept in step with migrations/postgres: same tables, columns,
-- constraints and triggers; a test fails if the two sets of versions differ.
-- Conventions: ids are 64-bit integers (INTEGER is 64-bit in SQLite); instants are microseconds since 1970-01-01 UTC (the same
-- precision on both backends); money in cents, points scaled by 10^points_scale; no floating point.

CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('municipality', 'union')),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    istat_code TEXT UNIQUE CHECK (istat_code IS NULL OR length(istat_code) = 6),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE union_members (
    union_id INTEGER NOT NULL REFERENCES organisations (id),
    municipality_id INTEGER NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (union_id, municipality_id)
) STRICT;

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE CHECK (length(login) BETWEEN 1 AND 200),
    display_name TEXT NOT NULL,
    password_hash TEXT,
    disabled_at INTEGER,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('operator', 'manager', 'auditor', 'admin')),
    PRIMARY KEY (user_id, organisation_id, role)
) STRICT;

CREATE TABLE services (
    id INTEGER PRIMARY KEY,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name TEXT NOT NULL,
    UNIQUE (organisation_id, code)
) STRICT;

CREATE TABLE calls (
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL REFERENCES services (id),
    school_year TEXT NOT NULL CHECK (length(school_year) = 9),
    opens_at INTEGER NOT NULL,
    closes_at INTEGER NOT NULL CHECK (closes_at > opens_at),
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed', 'ranked')),
    rules_toml TEXT NOT NULL,
    rules_hash TEXT NOT NULL CHECK (length(rules_hash) = 64),
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE late_batches (
    call_id INTEGER NOT NULL REFERENCES calls (id),
    batch INTEGER NOT NULL CHECK (batch >= 1),
    closes_at INTEGER NOT NULL,
    PRIMARY KEY (call_id, batch)
) STRICT;

CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL REFERENCES calls (id),
    code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 64),
    name TEXT NOT NULL,
    UNIQUE (call_id, code)
) STRICT;

CREATE TABLE facility_seats (
    facility_id INTEGER NOT NULL REFERENCES facilities (id),
    section TEXT NOT NULL,
    time_slot TEXT NOT NULL DEFAULT '',
    seats INTEGER NOT NULL CHECK (seats >= 0),
    PRIMARY KEY (facility_id, section, time_slot)
) STRICT;

CREATE TABLE protocol_counters (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    year INTEGER NOT NULL CHECK (year BETWEEN 1900 AND 9999),
    last_number INTEGER NOT NULL CHECK (last_number >= 0),
    PRIMARY KEY (organisation_id, year)
) STRICT;

CREATE TABLE applications (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL REFERENCES calls (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    protocol_year INTEGER NOT NULL,
    protocol_number INTEGER NOT NULL,
    batch INTEGER NOT NULL DEFAULT 0 CHECK (batch >= 0),
    status TEXT NOT NULL CHECK (status IN ('submitted', 'withdrawn', 'excluded', 'annulled')),
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    family TEXT,
    submitted_at INTEGER NOT NULL,
    UNIQUE (organisation_id, protocol_year, protocol_number)
) STRICT;

CREATE TABLE protocol_entries (
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    year INTEGER NOT NULL,
    number INTEGER NOT NULL CHECK (number >= 1),
    registered_at INTEGER NOT NULL,
    subject TEXT NOT NULL CHECK (subject IN ('application', 'amendment', 'objection', 'answer')),
    application_id INTEGER REFERENCES applications (id),
    annulled_at INTEGER,
    annulled_by INTEGER REFERENCES users (id),
    annulled_reason TEXT,
    PRIMARY KEY (organisation_id, year, number),
    CHECK ((annulled_at IS NULL) = (annulled_reason IS NULL))
) STRICT;

CREATE TABLE application_versions (
    application_id INTEGER NOT NULL REFERENCES applications (id),
    version INTEGER NOT NULL CHECK (version >= 1),
    answers TEXT NOT NULL,
    preferences TEXT NOT NULL,
    saved_at INTEGER NOT NULL,
    saved_by INTEGER REFERENCES users (id),
    PRIMARY KEY (application_id, version)
) STRICT;

CREATE TABLE application_events (
    id INTEGER PRIMARY KEY,
    application_id INTEGER NOT NULL REFERENCES applications (id),
    status TEXT NOT NULL CHECK (status IN ('submitted', 'amended', 'withdrawn', 'excluded', 'annulled', 'readmitted')),
    at INTEGER NOT NULL,
    by_user INTEGER REFERENCES users (id),
    reason TEXT
) STRICT;

CREATE TABLE ranking_runs (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL REFERENCES calls (id),
    round INTEGER NOT NULL CHECK (round >= 1),
    inputs_hash TEXT NOT NULL CHECK (length(inputs_hash) = 64),
    rules_hash TEXT NOT NULL CHECK (length(rules_hash) = 64),
    seed TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    triggered_by INTEGER REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('computed', 'published', 'discarded')),
    manifest TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    published_at INTEGER,
    CHECK ((status = 'published') = (published_at IS NOT NULL))
) STRICT;

CREATE TABLE ranking_results (
    run_id INTEGER NOT NULL REFERENCES ranking_runs (id),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    list TEXT NOT NULL,
    position INTEGER NOT NULL CHECK (position >= 1),
    points_scaled INTEGER NOT NULL,
    points_scale INTEGER NOT NULL CHECK (points_scale BETWEEN 0 AND 9),
    tier TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (length(outcome) BETWEEN 1 AND 40),
    facility_code TEXT,
    PRIMARY KEY (run_id, application_id, list)
) STRICT;

CREATE TABLE objections (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES ranking_runs (id),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    filed_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('filed', 'accepted', 'rejected')),
    decided_at INTEGER,
    decided_by INTEGER REFERENCES users (id),
    decision TEXT,
    CHECK ((status = 'filed') = (decided_at IS NULL))
) STRICT;

CREATE TABLE offers (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES ranking_runs (id),
    application_id INTEGER NOT NULL REFERENCES applications (id),
    facility_code TEXT NOT NULL,
    section TEXT NOT NULL,
    time_slot TEXT NOT NULL DEFAULT '',
    offered_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL CHECK (expires_at > offered_at),
    answer TEXT CHECK (answer IS NULL OR answer IN ('accepted', 'refused')),
    answered_at INTEGER,
    CHECK ((answer IS NULL) = (answered_at IS NULL)),
    UNIQUE (run_id, application_id)
) STRICT;

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    last_error TEXT
) STRICT;

CREATE INDEX applications_by_call ON applications (call_id, status);
CREATE INDEX results_by_application ON ranking_results (application_id);
CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);

-- What was published or registered cannot be altered, whatever code path or hand-typed SQL tries.

CREATE TRIGGER protocol_entries_no_delete BEFORE DELETE ON protocol_entries
BEGIN SELECT RAISE(ABORT, 'protocol entries are immutable: annul them instead'); END;

CREATE TRIGGER protocol_entries_only_annul BEFORE UPDATE ON protocol_entries
WHEN OLD.annulled_at IS NOT NULL
  OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.year IS NOT OLD.year
  OR NEW.number IS NOT OLD.number OR NEW.registered_at IS NOT OLD.registered_at
  OR NEW.subject IS NOT OLD.subject OR NEW.application_id IS NOT OLD.application_id
BEGIN SELECT RAISE(ABORT, 'protocol entries are immutable: only an annulment may be added, once'); END;

CREATE TRIGGER protocol_counters_no_decrease BEFORE UPDATE ON protocol_counters
WHEN NEW.last_number < OLD.last_number OR NEW.organisation_id IS NOT OLD.organisation_id OR NEW.year IS NOT OLD.year
BEGIN SELECT RAISE(ABORT, 'protocol counters only move forward'); END;

CREATE TRIGGER protocol_counters_no_delete BEFORE DELETE ON protocol_counters
BEGIN SELECT RAISE(ABORT, 'protocol counters cannot be deleted'); END;

CREATE TRIGGER application_versions_no_update BEFORE UPDATE ON application_versions
BEGIN SELECT RAISE(ABORT, 'application versions are kept as submitted'); END;

CREATE TRIGGER application_versions_no_delete BEFORE DELETE ON application_versions
BEGIN SELECT RAISE(ABORT, 'application versions are kept as submitted'); END;

CREATE TRIGGER calls_rules_frozen BEFORE UPDATE ON calls
WHEN OLD.status <> 'draft' AND (NEW.rules_toml IS NOT OLD.rules_toml OR NEW.rules_hash IS NOT OLD.rules_hash)
BEGIN SELECT RAISE(ABORT, 'the rules of a call are frozen when it opens'); END;

CREATE TRIGGER ranking_runs_published_frozen BEFORE UPDATE ON ranking_runs
WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published ranking run cannot be changed'); END;

CREATE TRIGGER ranking_runs_published_no_delete BEFORE DELETE ON ranking_runs
WHEN OLD.status = 'published'
BEGIN SELECT RAISE(ABORT, 'a published ranking run cannot be deleted'); END;

CREATE TRIGGER ranking_results_frozen_insert BEFORE INSERT ON ranking_results
WHEN (SELECT status FROM ranking_runs WHERE id = NEW.run_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'the results of a published ranking run cannot be changed'); END;

CREATE TRIGGER ranking_results_frozen_update BEFORE UPDATE ON ranking_results
WHEN (SELECT status FROM ranking_runs WHERE id = OLD.run_id) = 'published'
  OR (SELECT status FROM ranking_runs WHERE id = NEW.run_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'the results of a published ranking run cannot be changed'); END;

CREATE TRIGGER ranking_results_frozen_delete BEFORE DELETE ON ranking_results
WHEN (SELECT status FROM ranking_runs WHERE id = OLD.run_id) = 'published'
BEGIN SELECT RAISE(ABORT, 'the results of a published ranking run cannot be changed'); END;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
