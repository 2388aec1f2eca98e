-- The trackers' counts rolled up further, as events are written (in the batch's transaction, beside
-- `tracking_daily`), so a report reads O(creatives x media buys) rows: running totals per campaign,
-- media buy and creative through each day with events (a date range is the row at or before `end`
-- minus the row before `start`), the series a report by creative walks, and per-day totals with
-- the creatives summed for reports by seller and by day (`rows_n`: the `tracking_daily` rows summed;
-- the row goes when none is left).
CREATE TABLE tracking_running (
    campaign_id  TEXT NOT NULL,
    media_buy_id TEXT NOT NULL,
    creative_id  TEXT NOT NULL,
    day          TEXT NOT NULL,
    impressions  BIGINT NOT NULL,
    clicks       BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, media_buy_id, creative_id, day)
);

CREATE TABLE tracking_series (
    campaign_id  TEXT NOT NULL,
    media_buy_id TEXT NOT NULL,
    creative_id  TEXT NOT NULL,
    PRIMARY KEY (campaign_id, media_buy_id, creative_id)
);
CREATE INDEX tracking_series_creative ON tracking_series (campaign_id, creative_id);

CREATE TABLE tracking_days (
    campaign_id  TEXT NOT NULL,
    media_buy_id TEXT NOT NULL,
    day          TEXT NOT NULL,
    rows_n       BIGINT NOT NULL,
    impressions  BIGINT NOT NULL,
    clicks       BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, day, media_buy_id)
);

-- Counts rolled up before these tables existed.
INSERT INTO tracking_running (campaign_id, media_buy_id, creative_id, day, impressions, clicks)
SELECT campaign_id, media_buy_id, creative_id, day,
    SUM(impressions) OVER w, SUM(clicks) OVER w
FROM tracking_daily
WINDOW w AS (PARTITION BY campaign_id, media_buy_id, creative_id ORDER BY day
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

INSERT INTO tracking_series (campaign_id, media_buy_id, creative_id)
SELECT DISTINCT campaign_id, media_buy_id, creative_id FROM tracking_daily;

INSERT INTO tracking_days (campaign_id, media_buy_id, day, rows_n, impressions, clicks)
SELECT campaign_id, media_buy_id, day, COUNT(*), SUM(impressions), SUM(clicks)
FROM tracking_daily GROUP BY campaign_id, media_buy_id, day;
