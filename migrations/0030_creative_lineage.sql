-- Where a finalized manifest came from (issue 15): its session, variant and direction, the source
-- assets with their checksums, and the review notes its non-blocking evaluator warnings became.
-- Kept when the session is discarded: the manifest outlives its session.
CREATE TABLE creative_lineage (
    creative_id  TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    variant_id   TEXT NOT NULL,
    direction_id TEXT NOT NULL,
    lineage      TEXT NOT NULL,
    review_notes TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX creative_lineage_session ON creative_lineage (session_id);
