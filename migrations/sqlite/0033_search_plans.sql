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

-- 3. The trigram index is scoped by rowid: a manifest's row there is numbered
--    scope * 2^32 + n, where `search_scopes` numbers each (customer, campaign) and `n` is its
--    `creative_search_rows` number (below 2^32), so one campaign's matches are one rowid range,
--    which FTS5 reads from its posting lists alone: counting them looks nothing else up (checking
--    each match's campaign in a table cost 0.5 us a match, 12,500 of them for a common word).
--    `doc` keeps each manifest's number there, `created_at` its order (a few matches are sorted
--    without reading `creatives`).
CREATE TABLE search_scopes (
    n           INTEGER PRIMARY KEY,
    customer_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    UNIQUE (campaign_id, customer_id)
);
INSERT INTO search_scopes (customer_id, campaign_id) SELECT DISTINCT customer_id, campaign_id FROM creatives;
ALTER TABLE creative_search_rows ADD COLUMN created_at TEXT;
ALTER TABLE creative_search_rows ADD COLUMN doc INTEGER;
UPDATE creative_search_rows SET created_at = c.created_at,
    doc = (SELECT s.n FROM search_scopes s WHERE s.customer_id = c.customer_id AND s.campaign_id = c.campaign_id)
          * 4294967296 + creative_search_rows.n
    FROM creatives c WHERE c.id = creative_search_rows.creative_id;

-- 4. The indexed text ends in two U+FFFF (which `fold` never leaves in a name or a needle), so every
--    character of a name starts a trigram: a needle of one or two characters is found as the first
--    characters of terms, read from the vocabulary in term order (`creative_search_vocab`), where a
--    trigram index otherwise has nothing to look up.
DROP TRIGGER creatives_search_insert;
DROP TRIGGER creatives_search_update;
DROP TRIGGER creatives_search_delete;
DELETE FROM creative_search;
INSERT INTO creative_search (rowid, name)
    SELECT r.doc, COALESCE(c.name_search, '') || char(65535, 65535)
    FROM creatives c JOIN creative_search_rows r ON r.creative_id = c.id;
CREATE VIRTUAL TABLE creative_search_vocab USING fts5vocab(creative_search, 'instance');

CREATE TRIGGER creatives_search_insert AFTER INSERT ON creatives BEGIN
    INSERT OR IGNORE INTO search_scopes (customer_id, campaign_id) VALUES (new.customer_id, new.campaign_id);
    INSERT INTO creative_search_rows (creative_id, created_at) VALUES (new.id, new.created_at);
    UPDATE creative_search_rows SET doc = n + 4294967296 * (SELECT s.n FROM search_scopes s
        WHERE s.customer_id = new.customer_id AND s.campaign_id = new.campaign_id)
        WHERE creative_id = new.id;
    INSERT INTO creative_search (rowid, name)
        VALUES ((SELECT doc FROM creative_search_rows WHERE creative_id = new.id),
                COALESCE(new.name_search, '') || char(65535, 65535));
END;

CREATE TRIGGER creatives_search_update AFTER UPDATE OF name_search ON creatives
    WHEN new.name_search IS NOT old.name_search BEGIN
    UPDATE creative_search SET name = COALESCE(new.name_search, '') || char(65535, 65535)
        WHERE rowid = (SELECT doc FROM creative_search_rows WHERE creative_id = new.id);
END;

-- A manifest never changes campaign today; if one did, its index row moves to the new scope.
CREATE TRIGGER creatives_search_scope AFTER UPDATE OF customer_id, campaign_id, created_at ON creatives BEGIN
    DELETE FROM creative_search WHERE rowid = (SELECT doc FROM creative_search_rows WHERE creative_id = old.id);
    INSERT OR IGNORE INTO search_scopes (customer_id, campaign_id) VALUES (new.customer_id, new.campaign_id);
    UPDATE creative_search_rows SET created_at = new.created_at, doc = n + 4294967296 * (SELECT s.n
        FROM search_scopes s WHERE s.customer_id = new.customer_id AND s.campaign_id = new.campaign_id)
        WHERE creative_id = new.id;
    INSERT INTO creative_search (rowid, name)
        VALUES ((SELECT doc FROM creative_search_rows WHERE creative_id = new.id),
                COALESCE(new.name_search, '') || char(65535, 65535));
END;

CREATE TRIGGER creatives_search_delete AFTER DELETE ON creatives BEGIN
    DELETE FROM creative_search WHERE rowid = (SELECT doc FROM creative_search_rows WHERE creative_id = old.id);
    DELETE FROM creative_search_rows WHERE creative_id = old.id;
END;
