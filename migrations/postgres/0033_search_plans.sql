-- Search at scale (issue 18) and the review queue's folded search, PostgreSQL's half (SQLite's is
-- migrations/sqlite/0033_search_plans.sql; one number, two dialects).
--
-- 1. The review queue searches the name and the creative id as the service folds them (Rust's
--    Unicode lowercase, `store::search::fold`), like manifests and the storefront library. Written
--    with the row; rows from before are filled in at start.
ALTER TABLE storefront_reviews ADD COLUMN name_folded TEXT;
ALTER TABLE storefront_reviews ADD COLUMN creative_id_folded TEXT;

-- 2. The campaign's ordered index carries the folded name (not the name), so a broad needle's page
--    is found by walking the campaign newest (or oldest) first and testing each entry, stopping at
--    the page.
DROP INDEX creatives_list;
CREATE INDEX creatives_list ON creatives (campaign_id, customer_id, created_at, id, name_search);

-- 3. Search reads narrow copies of what it needs, kept by a trigger: checking a trigram match
--    against the manifest row itself read most of the wide `creatives` heap for a common word
--    (12,500 rows, 9,000 pages). `creative_search_rows` holds the folded name (pg_trgm serves
--    needles of three characters or more); `creative_search_grams` holds each name's one- and
--    two-character substrings, for needles shorter than a trigram, which pg_trgm cannot look up
--    (GIN answers `@>` on a text array exactly, without a recheck). Two tables, so the rows a
--    trigram match rechecks stay narrow.
DROP INDEX creatives_name_search_trgm;

CREATE FUNCTION search_short_grams(s TEXT) RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(array_agg(DISTINCT g), '{}') FROM (
        SELECT substr(s, i, 1) AS g FROM generate_series(1, length(s)) i
        UNION ALL
        SELECT substr(s, i, 2) FROM generate_series(1, length(s) - 1) i
    ) grams
$$;

CREATE TABLE creative_search_rows (
    creative_id TEXT PRIMARY KEY REFERENCES creatives(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    name_search TEXT NOT NULL
);
CREATE TABLE creative_search_grams (
    creative_id TEXT PRIMARY KEY REFERENCES creatives(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    short_grams TEXT[] NOT NULL
);
INSERT INTO creative_search_rows
    SELECT id, customer_id, campaign_id, created_at, COALESCE(name_search, '') FROM creatives;
INSERT INTO creative_search_grams
    SELECT id, customer_id, campaign_id, created_at, search_short_grams(COALESCE(name_search, ''))
    FROM creatives;
CREATE INDEX creative_search_rows_trgm ON creative_search_rows USING gin (name_search gin_trgm_ops);
CREATE INDEX creative_search_grams_short ON creative_search_grams USING gin (short_grams);

CREATE FUNCTION creative_search_rows_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO creative_search_rows (creative_id, customer_id, campaign_id, created_at, name_search)
    VALUES (NEW.id, NEW.customer_id, NEW.campaign_id, NEW.created_at, COALESCE(NEW.name_search, ''))
    ON CONFLICT (creative_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
        campaign_id = EXCLUDED.campaign_id, created_at = EXCLUDED.created_at,
        name_search = EXCLUDED.name_search;
    INSERT INTO creative_search_grams (creative_id, customer_id, campaign_id, created_at, short_grams)
    VALUES (NEW.id, NEW.customer_id, NEW.campaign_id, NEW.created_at,
            search_short_grams(COALESCE(NEW.name_search, '')))
    ON CONFLICT (creative_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
        campaign_id = EXCLUDED.campaign_id, created_at = EXCLUDED.created_at,
        short_grams = EXCLUDED.short_grams;
    RETURN NULL;
END
$$;

CREATE TRIGGER creatives_search_rows_insert AFTER INSERT ON creatives
    FOR EACH ROW EXECUTE FUNCTION creative_search_rows_sync();
-- Every manifest update rewrites name_search; only a changed one (or scope) touches the copies.
CREATE TRIGGER creatives_search_rows_update AFTER UPDATE ON creatives
    FOR EACH ROW WHEN (OLD.name_search IS DISTINCT FROM NEW.name_search
        OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
        OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION creative_search_rows_sync();
