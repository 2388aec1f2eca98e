-- Storefronts: a customer puts the service in front of one of its sales agents, and buyer agents
-- call it over AdCP (MCP). Each buyer account has its own key (only its SHA-256 is stored, like
-- api_keys) and sees only its own library.
CREATE TABLE storefronts (
    id             TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    sales_agent_id TEXT NOT NULL REFERENCES sales_agents(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    review_mode    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX storefronts_customer ON storefronts (customer_id, created_at, id);

CREATE TABLE storefront_accounts (
    id            TEXT PRIMARY KEY,
    storefront_id TEXT NOT NULL REFERENCES storefronts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    -- JSON array of lower-case domains.
    brand_domains TEXT NOT NULL,
    operator      TEXT,
    key_hash      TEXT NOT NULL UNIQUE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX storefront_accounts_storefront ON storefront_accounts (storefront_id, created_at, id);
