-- Creative sessions (issue 15): review workflows that draft variants from a buyer's source assets
-- and finalize one into an ordinary manifest. The session is one JSON document (brief, asset store,
-- variants with lineage and evaluations), written whole; the columns beside it are what lists and
-- scoping need. Drafts live here and under `sessions/{session_id}/` in the object store, never in
-- `creatives`, so nothing propagates a draft to a seller.
CREATE TABLE creative_sessions (
    session_id  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    campaign_id TEXT NOT NULL,
    status      TEXT NOT NULL,
    doc         TEXT NOT NULL,
    version     BIGINT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX creative_sessions_campaign ON creative_sessions (customer_id, campaign_id, session_id);
