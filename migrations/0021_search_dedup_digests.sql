-- Three additions, portable SQL:
--
-- 1. `name_search`: the manifest's name as the service folds it for search (Rust's Unicode
--    lowercase), so SQLite and PostgreSQL compare the same text (SQLite's LOWER folds ASCII only).
--    Rows from before are filled in by the service at start (`creatives::fill_name_search`); the
--    index that serves `search=` is per backend (migration 0022 under migrations/<backend>/).
ALTER TABLE creatives ADD COLUMN name_search TEXT;

-- 2. `dedup_key`: jobs that must not exist twice while unfinished (an execute per campaign and
--    seller). Two API replicas that execute at the same moment both try to insert; the index lets
--    one in, and the other joins that job instead of queueing a duplicate.
ALTER TABLE jobs ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX jobs_one_open_per_dedup_key ON jobs (dedup_key)
    WHERE status IN ('pending', 'running');

-- 3. `sent_digest`: a digest of the creative as last confirmed by the seller (the AdCP creative
--    the service built), so a later execute sends only the creatives that changed since.
ALTER TABLE creative_syncs ADD COLUMN sent_digest TEXT;
