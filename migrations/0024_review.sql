-- Sellers' review decisions per creative (issue 12): the reason of a rejection, the seller's own id
-- for the creative, when the status last changed, and where the status came from (`sync`,
-- `webhook` or `list_creatives`). `seller_status` keeps the status itself.
ALTER TABLE creative_syncs ADD COLUMN rejection_reason TEXT;
ALTER TABLE creative_syncs ADD COLUMN platform_id TEXT;
ALTER TABLE creative_syncs ADD COLUMN status_changed_at TEXT;
ALTER TABLE creative_syncs ADD COLUMN status_source TEXT;

-- One push_notification_config registration per propagation job (its URL names the job): the
-- HMAC-SHA256 secret the seller signs that job's webhooks with, sealed at rest.
CREATE TABLE webhook_registrations (
    job_id         TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL,
    campaign_id    TEXT NOT NULL,
    sales_agent_id TEXT NOT NULL,
    secret         TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX webhook_registrations_campaign ON webhook_registrations (campaign_id);

-- Webhook events already applied, by the sender's idempotency_key, scoped to the registration that
-- authenticated them: a replay answers 2xx and changes nothing.
CREATE TABLE webhook_events (
    job_id          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    received_at     TEXT NOT NULL,
    PRIMARY KEY (job_id, idempotency_key)
);

-- Scheduled reconciliation (list_creatives) per seller: when it is next due, and how many runs in a
-- row failed (the backoff doubles with each).
CREATE TABLE seller_reconcile (
    sales_agent_id TEXT PRIMARY KEY,
    next_at        TEXT NOT NULL,
    failures       BIGINT NOT NULL
);
