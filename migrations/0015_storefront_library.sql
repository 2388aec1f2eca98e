-- A storefront account's creative library (creatives as buyer agents synced them, keyed by the
-- buyer's own creative_id), the idempotency store of its syncs, and the sealed push-notification
-- configs the review queue will call back.
CREATE TABLE storefront_creatives (
    account_id   TEXT NOT NULL REFERENCES storefront_accounts(id) ON DELETE CASCADE,
    creative_id  TEXT NOT NULL,
    name         TEXT NOT NULL,
    -- "agent_url#id" of the format, or "kind:<format_kind>" for 3.1 canonical kinds.
    format_key   TEXT NOT NULL,
    -- The creative exactly as the buyer sent it (JSON).
    payload      TEXT NOT NULL,
    -- SHA-256 of the canonical (RFC 8785) payload: an identical re-sync is `unchanged`.
    content_hash TEXT NOT NULL,
    tags         TEXT NOT NULL,
    status       TEXT NOT NULL,
    review_note  TEXT,
    -- JSON array of {package_id, assigned_date}.
    assignments  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, creative_id)
);
CREATE INDEX storefront_creatives_created ON storefront_creatives (account_id, created_at, creative_id);

CREATE TABLE storefront_idempotency (
    -- A buyer key belongs to exactly one account, so (account, key) is the (key, account, key) scope.
    account_id      TEXT NOT NULL REFERENCES storefront_accounts(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    -- 'in_flight' while the first request runs, then 'done' with its answer.
    state           TEXT NOT NULL,
    response        TEXT,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX storefront_idempotency_expiry ON storefront_idempotency (expires_at);

CREATE TABLE storefront_push_configs (
    account_id      TEXT NOT NULL REFERENCES storefront_accounts(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    url             TEXT NOT NULL,
    -- The config without its credentials (JSON), and the credentials sealed like seller tokens.
    config          TEXT NOT NULL,
    credentials     TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (account_id, idempotency_key)
);
