-- Search at scale on PostgreSQL (issue 18): a needle's matches counted from an ordered index alone.
--
-- Before, pg_trgm's GIN found the candidates and PostgreSQL read each one's heap row: LIKE through
-- a trigram index is always rechecked, and a GIN scan never answers from the index alone (the
-- bitmap scan's "skip fetch" of all-visible pages is disabled in 15.x minor releases since 2024).
-- A common word (12,500 of 100,000 names) cost 12,500 heap visits per count, the same for short
-- needles. Here each name's suffixes (cut to 16 characters) are rows of one B-tree
-- (scope, suffix, rep, doc): the names containing a needle of up to 16 characters are exactly
-- those with a suffix starting with it, one range of the index, counted by an index-only scan (after
-- VACUUM, which autovacuum runs on insert-only tables too). A longer needle takes the range of
-- its first 16 characters, then checks each candidate's name. One structure serves every needle
-- length, so the trigram index and the short-gram copy go.
--
-- `search_scopes` numbers each (customer, campaign) as on SQLite (migration 0033 there), so the
-- index's rows stay narrow; `creative_search_rows.n` numbers each manifest for the same reason.
-- `suffix` compares in "C" collation: byte order of UTF-8 is code point order, which the service
-- computes a needle's range in (`store::search::prefix_range`).
CREATE TABLE search_scopes (
    n           INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    UNIQUE (campaign_id, customer_id)
);
INSERT INTO search_scopes (customer_id, campaign_id)
    SELECT DISTINCT customer_id, campaign_id FROM creative_search_rows;

ALTER TABLE creative_search_rows ADD COLUMN n BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX creative_search_rows_n ON creative_search_rows (n);

-- Each suffix of `s` cut to 16 characters, with `rep`: how many of its first characters also
-- start at an earlier position of `s` (a prefix that repeats has every shorter one repeat too).
-- A name holds a needle of L characters once per suffix starting with it, but only its first
-- occurrence has `rep < L`: counting those counts names, no DISTINCT over the matches. A suffix
-- whose every character repeats an earlier one (`rep` = its length) is never counted: not kept.
CREATE FUNCTION search_suffixes(s TEXT) RETURNS TABLE (suffix TEXT, rep SMALLINT)
    LANGUAGE sql IMMUTABLE AS $$
    SELECT x.suffix, x.rep FROM (
        SELECT left(substr(s, i), 16) AS suffix,
               (SELECT count(*) FROM generate_series(1, least(16, length(s) - i + 1)) l
                WHERE strpos(left(s, i + l - 2), substr(s, i, l)) > 0)::SMALLINT AS rep
        FROM generate_series(1, length(s)) i
    ) x
    WHERE x.rep < char_length(x.suffix)
$$;

CREATE TABLE creative_search_suffixes (
    scope  INTEGER NOT NULL,
    suffix TEXT COLLATE "C" NOT NULL,
    rep    SMALLINT NOT NULL,
    doc    BIGINT NOT NULL
);
INSERT INTO creative_search_suffixes (scope, suffix, rep, doc)
    SELECT s.n, x.suffix, x.rep, r.n
    FROM creative_search_rows r
    JOIN search_scopes s ON s.customer_id = r.customer_id AND s.campaign_id = r.campaign_id
    CROSS JOIN LATERAL search_suffixes(r.name_search) AS x;
CREATE INDEX creative_search_suffixes_lookup ON creative_search_suffixes (scope, suffix, rep, doc);

-- The suffixes follow `creative_search_rows` (itself kept by a trigger on `creatives`, cascades
-- included): a row's old suffixes are found by their keys, one index probe each.
CREATE FUNCTION creative_search_suffixes_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.name_search = NEW.name_search
        AND OLD.customer_id = NEW.customer_id AND OLD.campaign_id = NEW.campaign_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM creative_search_suffixes x
        USING search_scopes s
        WHERE s.customer_id = OLD.customer_id AND s.campaign_id = OLD.campaign_id
          AND x.scope = s.n
          AND x.suffix = ANY (ARRAY(SELECT f.suffix FROM search_suffixes(OLD.name_search) f))
          AND x.doc = OLD.n;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        -- Looked for first: an INSERT that meets a conflict still takes a number.
        IF NOT EXISTS (SELECT 1 FROM search_scopes
                       WHERE customer_id = NEW.customer_id AND campaign_id = NEW.campaign_id) THEN
            INSERT INTO search_scopes (customer_id, campaign_id)
                VALUES (NEW.customer_id, NEW.campaign_id) ON CONFLICT DO NOTHING;
        END IF;
        INSERT INTO creative_search_suffixes (scope, suffix, rep, doc)
            SELECT s.n, x.suffix, x.rep, NEW.n
            FROM search_scopes s CROSS JOIN LATERAL search_suffixes(NEW.name_search) AS x
            WHERE s.customer_id = NEW.customer_id AND s.campaign_id = NEW.campaign_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER creative_search_rows_suffixes AFTER INSERT OR UPDATE OR DELETE ON creative_search_rows
    FOR EACH ROW EXECUTE FUNCTION creative_search_suffixes_sync();

-- The copy of each name now feeds the suffixes only: no trigram index, no short-gram copy.
CREATE OR REPLACE FUNCTION creative_search_rows_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO creative_search_rows (creative_id, customer_id, campaign_id, created_at, name_search)
    VALUES (NEW.id, NEW.customer_id, NEW.campaign_id, NEW.created_at, COALESCE(NEW.name_search, ''))
    ON CONFLICT (creative_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,
        campaign_id = EXCLUDED.campaign_id, created_at = EXCLUDED.created_at,
        name_search = EXCLUDED.name_search;
    RETURN NULL;
END
$$;
DROP INDEX creative_search_rows_trgm;
DROP TABLE creative_search_grams;
DROP FUNCTION search_short_grams(TEXT);
