DROP TRIGGER objections_decide_once;
DROP TRIGGER objections_no_delete;
DROP TRIGGER offers_answer_once;
DROP TRIGGER offers_no_delete;
DROP INDEX offers_by_application;
DROP INDEX objections_by_run;
ALTER TABLE ranking_runs DROP COLUMN objections_until;
ALTER TABLE ranking_runs DROP COLUMN kind;
