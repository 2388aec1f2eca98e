-- Secrets the service makes for itself and every replica shares (e.g. the click-link signing key).
CREATE TABLE service_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Impressions and clicks recorded by the service's trackers, for delivery reporting.
CREATE TABLE tracking_events (
    id          TEXT PRIMARY KEY,
    creative_id TEXT NOT NULL,
    campaign_id TEXT,
    kind        TEXT NOT NULL,
    macros      TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX tracking_events_creative ON tracking_events (creative_id, kind, at);
