-- The storefront's creative review queue (issue 11). One row per creative of a buyer account: its
-- current submission and decision. Every submission and decision is kept in the history; every
-- buyer webhook an event calls for has its own delivery row. Forwarding to the underlying sales
-- agent and webhook delivery run as durable jobs; their outcome is written back here.
CREATE TABLE storefront_reviews (
    id              TEXT PRIMARY KEY,
    storefront_id   TEXT NOT NULL REFERENCES storefronts(id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL REFERENCES storefront_accounts(id) ON DELETE CASCADE,
    creative_id     TEXT NOT NULL,
    name            TEXT NOT NULL,
    -- The creative exactly as the buyer sent it (JSON; a creative never carries webhook credentials:
    -- those are request-level and sealed in storefront_push_configs).
    payload         TEXT NOT NULL,
    content_hash    TEXT NOT NULL,
    -- Bumped by every new submission: a job for an older one finds it superseded.
    revision        INTEGER NOT NULL,
    -- 'pending' | 'approved' | 'rejected' | 'revoked'
    status          TEXT NOT NULL,
    submitted_at    TEXT NOT NULL,
    decided_at      TEXT,
    decided_by      TEXT,
    note            TEXT,
    -- The submitting sync's push config (storefront_push_configs key), if it had one.
    push_key        TEXT,
    -- The submitting sync's `context` (JSON), echoed in webhooks.
    context         TEXT,
    -- Forwarding to the underlying agent: NULL (not yet) | 'queued' | 'forwarded' | 'retrying' |
    -- 'rejected' (the agent refused it) | 'dead' (given up) | 'archived' | 'superseded'.
    forward_status  TEXT,
    forward_attempts INTEGER NOT NULL,
    forward_error   TEXT,
    platform_id     TEXT,
    agent_status    TEXT,
    updated_at      TEXT NOT NULL,
    UNIQUE (account_id, creative_id)
);
CREATE INDEX storefront_reviews_queue ON storefront_reviews (status, submitted_at, id);
CREATE INDEX storefront_reviews_creative ON storefront_reviews (creative_id);

CREATE TABLE storefront_review_history (
    review_id  TEXT NOT NULL REFERENCES storefront_reviews(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    -- 'submitted' | 'approved' | 'rejected' | 'revoked' | 'agent_rejected'
    event      TEXT NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT,
    note       TEXT,
    revision   INTEGER NOT NULL,
    PRIMARY KEY (review_id, seq)
);

CREATE TABLE storefront_review_webhooks (
    id              TEXT PRIMARY KEY,
    review_id       TEXT NOT NULL REFERENCES storefront_reviews(id) ON DELETE CASCADE,
    account_id      TEXT NOT NULL,
    push_key        TEXT NOT NULL,
    -- 'approved' | 'rejected' | 'revoked' | 'agent_rejected'
    event           TEXT NOT NULL,
    -- One key per event, the same on every retry (AdCP receivers dedupe on it).
    idempotency_key TEXT NOT NULL,
    -- The event as generated: `result`, `message`, `timestamp` and `context` (JSON, no credentials).
    body            TEXT NOT NULL,
    -- 'pending' | 'retrying' | 'delivered' | 'failed'
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    last_error      TEXT,
    delivered_at    TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX storefront_review_webhooks_review ON storefront_review_webhooks (review_id, created_at);
