DROP TABLE sessions;
DROP TABLE idempotency_keys;
DROP INDEX drafts_by_owner;
DROP TABLE drafts;
DROP INDEX applications_by_municipality;
DROP INDEX applications_by_owner;
ALTER TABLE applications DROP COLUMN contact_email;
ALTER TABLE applications DROP COLUMN municipality_id;
ALTER TABLE applications DROP COLUMN owner_cf;
