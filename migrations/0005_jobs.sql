-- The durable job queue of propagation. A job's idempotency key is fixed when it is created and sent
-- on every attempt; a claimed job carries a lease that another worker may take over once it expires.
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    campaign_id      TEXT,
    sales_agent_id   TEXT,
    payload          TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL,
    max_attempts     BIGINT NOT NULL,
    next_attempt_at  TEXT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, next_attempt_at);
CREATE INDEX jobs_campaign ON jobs (campaign_id, created_at);
