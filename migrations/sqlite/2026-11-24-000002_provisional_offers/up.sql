-- A published ranking is provisional (families may object until objections_until) or final.
-- Answers to offers and decisions on objections are given once and then kept as given.
ALTER TABLE ranking_runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'final'
    CHECK (kind IN ('provisional', 'final'));
ALTER TABLE ranking_runs ADD COLUMN objections_until INTEGER
    CHECK (objections_until IS NULL OR (kind = 'provisional' AND published_at IS NOT NULL));

CREATE INDEX objections_by_run ON objections (run_id, application_id);
CREATE INDEX offers_by_application ON offers (application_id);

CREATE TRIGGER offers_no_delete BEFORE DELETE ON offers
BEGIN SELECT RAISE(ABORT, 'offers are kept: they decide the next round'); END;

CREATE TRIGGER offers_answer_once BEFORE UPDATE ON offers
WHEN OLD.answer IS NOT NULL
  OR NEW.run_id IS NOT OLD.run_id OR NEW.application_id IS NOT OLD.application_id
  OR NEW.facility_code IS NOT OLD.facility_code OR NEW.section IS NOT OLD.section
  OR NEW.time_slot IS NOT OLD.time_slot OR NEW.offered_at IS NOT OLD.offered_at
  OR NEW.expires_at IS NOT OLD.expires_at
BEGIN SELECT RAISE(ABORT, 'an offer is answered once, and only its answer may be recorded'); END;

CREATE TRIGGER objections_no_delete BEFORE DELETE ON objections
BEGIN SELECT RAISE(ABORT, 'objections are kept as filed'); END;

CREATE TRIGGER objections_decide_once BEFORE UPDATE ON objections
WHEN OLD.status <> 'filed'
  OR NEW.run_id IS NOT OLD.run_id OR NEW.application_id IS NOT OLD.application_id
  OR NEW.filed_at IS NOT OLD.filed_at OR NEW.body IS NOT OLD.body
BEGIN SELECT RAISE(ABORT, 'an objection is kept as filed and decided once'); END;
