-- Search at scale (issue 18) and the review queue's folded search, SQLite's half (PostgreSQL's is
-- migrations/postgres/0033_search_plans.sql; one number, two dialects).
--
-- 1. The review queue searches the name and the creative id as the service folds them (Rust's
--    Unicode lowercase, `store::search::fold`), like manifests and the storefront library: SQL
--    LOWER folds ASCII only on SQLite. Written with the row; rows from before are filled in at start.
ALTER TABLE storefront_reviews ADD COLUMN name_folded TEXT;
ALTER TABLE storefront_reviews ADD COLUMN creative_id_folded TEXT;

-- 2. The campaign's ordered index carries the folded name (not the name), so a broad needle's page
--    is found by walking the campaign newest (or oldest) first and testing each entry, index only,
--    stopping at the page: no table row is read for an entry that does not match.
DROP INDEX creatives_list;
CREATE INDEX creatives_list ON creatives (campaign_id, customer_id, created_at, id, name_search);

-- 3. Each trigram row knows its manifest's customer, campaign and creation time, so a match is
--    counted (and a few are sorted) with one lookup by integer key, without reading `creatives`.
ALTER TABLE creative_search_rows ADD COLUMN customer_id TEXT;
ALTER TABLE creative_search_rows ADD COLUMN campaign_id TEXT;
ALTER TABLE creative_search_rows ADD COLUMN created_at TEXT;
UPDATE creative_search_rows SET customer_id = c.customer_id, campaign_id = c.campaign_id, created_at = c.created_at
    FROM creatives c WHERE c.id = creative_search_rows.creative_id;

-- 4. The indexed text ends in two U+FFFF (which `fold` never leaves in a name or a needle), so every
--    character of a name starts a trigram: a needle of one or two characters is found as the first
--    characters of terms, read from the vocabulary in term order (`creative_search_vocab`), where a
--    trigram index otherwise has nothing to look up.
DROP TRIGGER creatives_search_insert;
DROP TRIGGER creatives_search_update;
DELETE FROM creative_search;
INSERT INTO creative_search (rowid, name)
    SELECT r.n, COALESCE(c.name_search, '') || char(65535, 65535)
    FROM creatives c JOIN creative_search_rows r ON r.creative_id = c.id;
CREATE VIRTUAL TABLE creative_search_vocab USING fts5vocab(creative_search, 'instance');

CREATE TRIGGER creatives_search_insert AFTER INSERT ON creatives BEGIN
    INSERT INTO creative_search_rows (creative_id, customer_id, campaign_id, created_at)
        VALUES (new.id, new.customer_id, new.campaign_id, new.created_at);
    INSERT INTO creative_search (rowid, name)
        VALUES ((SELECT n FROM creative_search_rows WHERE creative_id = new.id),
                COALESCE(new.name_search, '') || char(65535, 65535));
END;

CREATE TRIGGER creatives_search_update AFTER UPDATE OF name_search ON creatives
    WHEN new.name_search IS NOT old.name_search BEGIN
    UPDATE creative_search SET name = COALESCE(new.name_search, '') || char(65535, 65535)
        WHERE rowid = (SELECT n FROM creative_search_rows WHERE creative_id = new.id);
END;

CREATE TRIGGER creatives_search_scope AFTER UPDATE OF customer_id, campaign_id, created_at ON creatives BEGIN
    UPDATE creative_search_rows SET customer_id = new.customer_id, campaign_id = new.campaign_id,
        created_at = new.created_at WHERE creative_id = new.id;
END;
