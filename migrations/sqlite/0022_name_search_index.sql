-- SQLite: `search=` (a substring of the folded name) served by an FTS5 trigram table. Its rows are
-- numbered through `creative_search_rows` (an INTEGER PRIMARY KEY, which VACUUM never renumbers,
-- unlike the implicit rowid of `creatives`), and triggers keep it in step with `creatives`, cascades
-- included. `name_search` is already folded, so the index is case-sensitive and queried with GLOB.
CREATE TABLE creative_search_rows (
    n           INTEGER PRIMARY KEY,
    creative_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE creative_search USING fts5(name, tokenize = 'trigram case_sensitive 1');

INSERT INTO creative_search_rows (creative_id) SELECT id FROM creatives;
INSERT INTO creative_search (rowid, name)
    SELECT r.n, COALESCE(c.name_search, '') FROM creatives c JOIN creative_search_rows r ON r.creative_id = c.id;

CREATE TRIGGER creatives_search_insert AFTER INSERT ON creatives BEGIN
    INSERT INTO creative_search_rows (creative_id) VALUES (new.id);
    INSERT INTO creative_search (rowid, name)
        VALUES ((SELECT n FROM creative_search_rows WHERE creative_id = new.id), COALESCE(new.name_search, ''));
END;

CREATE TRIGGER creatives_search_update AFTER UPDATE OF name_search ON creatives BEGIN
    UPDATE creative_search SET name = COALESCE(new.name_search, '')
        WHERE rowid = (SELECT n FROM creative_search_rows WHERE creative_id = new.id);
END;

CREATE TRIGGER creatives_search_delete AFTER DELETE ON creatives BEGIN
    DELETE FROM creative_search WHERE rowid = (SELECT n FROM creative_search_rows WHERE creative_id = old.id);
    DELETE FROM creative_search_rows WHERE creative_id = old.id;
END;
