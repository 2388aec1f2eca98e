-- list_creatives `tags` / `tags_any` served by an index instead of parsing every row's JSON tags:
-- one row per (creative, tag), written with the creative in the same transaction. The primary key
-- leads with (account_id, tag), so a filter reads the creatives carrying a tag off the index.
-- Deleting the creative (its account is deleted) takes its tags with it.
CREATE TABLE storefront_creative_tags (
    account_id  TEXT NOT NULL,
    creative_id TEXT NOT NULL,
    tag         TEXT NOT NULL,
    PRIMARY KEY (account_id, tag, creative_id),
    FOREIGN KEY (account_id, creative_id)
        REFERENCES storefront_creatives (account_id, creative_id) ON DELETE CASCADE
);
-- Its creative's rows, for rewriting them when the creative's tags change.
CREATE INDEX storefront_creative_tags_creative ON storefront_creative_tags (account_id, creative_id);

-- The creatives stored before: their JSON tags, each once.
INSERT INTO storefront_creative_tags (account_id, creative_id, tag)
    SELECT DISTINCT c.account_id, c.creative_id, j.tag
    FROM storefront_creatives c, json_array_elements_text(c.tags::json) AS j(tag)
    ON CONFLICT DO NOTHING;
