-- Propagation: what a campaign needs to buy media (flight dates), how a seller knows the buyer (an
-- optional seller-assigned account id), the media buys made, and what each seller confirmed per manifest.
ALTER TABLE campaigns ADD COLUMN start_time TEXT;
ALTER TABLE campaigns ADD COLUMN end_time TEXT;
ALTER TABLE sales_agents ADD COLUMN account_id TEXT;

-- One media buy per campaign and seller; `packages` maps the campaign's product ids to the seller's
-- package ids (JSON). `transport` is how creatives reached it: library or inline.
CREATE TABLE media_buys (
    campaign_id    TEXT NOT NULL,
    sales_agent_id TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    media_buy_id   TEXT NOT NULL,
    revision       BIGINT,
    status         TEXT,
    transport      TEXT NOT NULL,
    packages       TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, sales_agent_id)
);

-- What a seller confirmed about one manifest: the AdCP `action`/`status`/`errors` it returned.
-- `confirmed` is 1 when the seller holds the creative (synced to its library, or inline on a package).
CREATE TABLE creative_syncs (
    creative_id    TEXT NOT NULL,
    sales_agent_id TEXT NOT NULL,
    campaign_id    TEXT NOT NULL,
    transport      TEXT NOT NULL,
    confirmed      BIGINT NOT NULL,
    action         TEXT,
    seller_status  TEXT,
    errors         TEXT NOT NULL,
    synced_at      TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (creative_id, sales_agent_id)
);
CREATE INDEX creative_syncs_campaign ON creative_syncs (campaign_id);
