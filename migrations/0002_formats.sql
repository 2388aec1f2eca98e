-- Formats published by sales agents (AdCP list_creative_formats), kept with when they were fetched.
CREATE TABLE agent_formats (
    sales_agent_id TEXT NOT NULL REFERENCES sales_agents(id) ON DELETE CASCADE,
    agent_url      TEXT NOT NULL,
    format_id      TEXT NOT NULL,
    format_json    TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (sales_agent_id, agent_url, format_id)
);

-- The last fetch of an agent's formats: when it last succeeded, when it was last tried, and why it failed.
ALTER TABLE sales_agents ADD COLUMN formats_fetched_at TEXT;
ALTER TABLE sales_agents ADD COLUMN formats_attempted_at TEXT;
ALTER TABLE sales_agents ADD COLUMN formats_error TEXT;

-- Whether the buyer chose target_format_ids (kept on update) or the service computed them (recomputed).
ALTER TABLE creatives ADD COLUMN targets_chosen BIGINT NOT NULL DEFAULT 0;
-- Manifest-level warnings (e.g. a chosen target format the assets do not satisfy).
ALTER TABLE creatives ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
