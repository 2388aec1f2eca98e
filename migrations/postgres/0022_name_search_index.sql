-- PostgreSQL: `search=` (a substring of the folded name) served by a trigram index. pg_trgm ships
-- with PostgreSQL itself (Debian's postgresql-15 package carries it) and is a trusted extension,
-- so the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX creatives_name_search_trgm ON creatives USING gin (name_search gin_trgm_ops);
