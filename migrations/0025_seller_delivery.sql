-- What sellers report of delivery (AdCP get_creative_delivery), per creative and day, in the seller's
-- currency. One day of one seller is replaced whole once all its pages are read.
CREATE TABLE seller_delivery (
    campaign_id     TEXT NOT NULL,
    sales_agent_id  TEXT NOT NULL,
    media_buy_id    TEXT NOT NULL,
    creative_id     TEXT NOT NULL,
    day             TEXT NOT NULL,
    currency        TEXT NOT NULL,
    impressions     DOUBLE PRECISION,
    clicks          DOUBLE PRECISION,
    spend           DOUBLE PRECISION,
    completed_views DOUBLE PRECISION,
    q1_views        DOUBLE PRECISION,
    q2_views        DOUBLE PRECISION,
    q3_views        DOUBLE PRECISION,
    q4_views        DOUBLE PRECISION,
    period_start    TEXT NOT NULL,
    period_end      TEXT NOT NULL,
    PRIMARY KEY (campaign_id, sales_agent_id, creative_id, day)
);

-- Each day fetched from each seller, and when: `as_of` per seller, and which days need no refetch.
CREATE TABLE seller_delivery_fetches (
    campaign_id    TEXT NOT NULL,
    sales_agent_id TEXT NOT NULL,
    day            TEXT NOT NULL,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, sales_agent_id, day)
);
