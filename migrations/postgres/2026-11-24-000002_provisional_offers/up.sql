-- A published ranking is provisional (families may object until objections_until) or final.
-- Answers to offers and decisions on objections are given once and then kept as given.
ALTER TABLE ranking_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'final'
    CHECK (kind IN ('provisional', 'final'));
ALTER TABLE ranking_runs ADD COLUMN objections_until BIGINT
    CHECK (objections_until IS NULL OR (kind = 'provisional' AND published_at IS NOT NULL));

CREATE INDEX objections_by_run ON objections (run_id, application_id);
CREATE INDEX offers_by_application ON offers (application_id);

CREATE TRIGGER offers_no_delete BEFORE DELETE ON offers
FOR EACH ROW EXECUTE FUNCTION graduatorie_refuse('offers are kept: they decide the next round');

CREATE TRIGGER offers_answer_once BEFORE UPDATE ON offers
FOR EACH ROW WHEN (OLD.answer IS NOT NULL
  OR NEW.run_id IS DISTINCT FROM OLD.run_id OR NEW.application_id IS DISTINCT FROM OLD.application_id
  OR NEW.facility_code IS DISTINCT FROM OLD.facility_code OR NEW.section IS DISTINCT FROM OLD.section
  OR NEW.time_slot IS DISTINCT FROM OLD.time_slot OR NEW.offered_at IS DISTINCT FROM OLD.offered_at
  OR NEW.expires_at IS DISTINCT FROM OLD.expires_at)
EXECUTE FUNCTION graduatorie_refuse('an offer is answered once, and only its answer may be recorded');

CREATE TRIGGER objections_no_delete BEFORE DELETE ON objections
FOR EACH ROW EXECUTE FUNCTION graduatorie_refuse('objections are kept as filed');

CREATE TRIGGER objections_decide_once BEFORE UPDATE ON objections
FOR EACH ROW WHEN (OLD.status <> 'filed'
  OR NEW.run_id IS DISTINCT FROM OLD.run_id OR NEW.application_id IS DISTINCT FROM OLD.application_id
  OR NEW.filed_at IS DISTINCT FROM OLD.filed_at OR NEW.body IS DISTINCT FROM OLD.body)
EXECUTE FUNCTION graduatorie_refuse('an objection is kept as filed and decided once');

CREATE TRIGGER offers_no_truncate BEFORE TRUNCATE ON offers
FOR EACH STATEMENT EXECUTE FUNCTION graduatorie_refuse('offers are kept: they decide the next round');

CREATE TRIGGER objections_no_truncate BEFORE TRUNCATE ON objections
FOR EACH STATEMENT EXECUTE FUNCTION graduatorie_refuse('objections are kept as filed');
