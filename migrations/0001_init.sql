-- One schema for SQLite and PostgreSQL: only the SQL both engines share (TEXT timestamps in RFC 3339 UTC
-- with milliseconds, so text order is time order; JSON as TEXT; BIGINT numbers).
CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    key_hash    TEXT NOT NULL UNIQUE,
    label       TEXT,
    created_at  TEXT NOT NULL
);

CREATE TABLE sales_agents (
    id                   TEXT PRIMARY KEY,
    customer_id          TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name                 TEXT NOT NULL,
    endpoint_url         TEXT NOT NULL,
    auth_scheme          TEXT,
    auth_token           TEXT,
    has_creative_library TEXT NOT NULL,
    supports_inline      BIGINT NOT NULL,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
CREATE INDEX sales_agents_customer ON sales_agents (customer_id, created_at);

CREATE TABLE campaigns (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    brand_domain TEXT NOT NULL,
    products     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX campaigns_customer ON campaigns (customer_id, created_at);

CREATE TABLE creatives (
    id                TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    campaign_id       TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    message           TEXT,
    template_id       TEXT,
    format_id         TEXT,
    format_kind       TEXT,
    format_option_ref TEXT,
    target_format_ids TEXT NOT NULL,
    frequency_caps    TEXT NOT NULL,
    primary_asset_id  TEXT,
    tracking          TEXT,
    preview_url       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX creatives_campaign ON creatives (campaign_id, created_at, id);

CREATE TABLE creative_assets (
    id                TEXT PRIMARY KEY,
    creative_id       TEXT NOT NULL REFERENCES creatives(id) ON DELETE CASCADE,
    position          BIGINT NOT NULL,
    name              TEXT NOT NULL,
    asset_source      TEXT NOT NULL,
    asset_type        TEXT NOT NULL,
    original_filename TEXT,
    content_type      TEXT,
    file_size         BIGINT,
    sha256            TEXT,
    object_key        TEXT,
    width             BIGINT,
    height            BIGINT,
    duration_ms       BIGINT,
    url               TEXT,
    url_type          TEXT,
    text_value        TEXT,
    label             TEXT,
    slot_asset_id     TEXT,
    warnings          TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE INDEX creative_assets_creative ON creative_assets (creative_id, position);
CREATE INDEX creative_assets_object ON creative_assets (object_key);

-- Objects written by a request that has not committed yet. A crash leaves rows here; the janitor
-- deletes their objects (unless a committed asset uses them) once they are old enough.
CREATE TABLE pending_objects (
    object_key TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
