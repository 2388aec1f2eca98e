-- What sellers reported, rolled up as it is written (store/delivery_rollup.rs keeps these in the
-- transaction that replaces a seller's day), so a report reads O(creatives x sellers) rows instead of
-- every stored day. Figures are integers in ten-thousandths (ISO 4217's finest minor unit): running
-- totals are subtracted, and integers keep `total through end - total before start` exact where
-- floats would drift.
-- Each `*_n` counts the rows that carried the (optional) figure, so a range with none reads NULL.

-- Running totals per campaign, seller, currency and creative, through each day the seller reported
-- it: a date range is the row at or before `end` minus the row before `start`.
CREATE TABLE seller_delivery_running (
    campaign_id       TEXT NOT NULL,
    sales_agent_id    TEXT NOT NULL,
    currency          TEXT NOT NULL,
    creative_id       TEXT NOT NULL,
    day               TEXT NOT NULL,
    impressions       BIGINT NOT NULL,
    clicks            BIGINT NOT NULL,
    spend             BIGINT NOT NULL,
    completed_views   BIGINT NOT NULL,
    q1_views          BIGINT NOT NULL,
    q2_views          BIGINT NOT NULL,
    q3_views          BIGINT NOT NULL,
    q4_views          BIGINT NOT NULL,
    completed_views_n BIGINT NOT NULL,
    q1_views_n        BIGINT NOT NULL,
    q2_views_n        BIGINT NOT NULL,
    q3_views_n        BIGINT NOT NULL,
    q4_views_n        BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, sales_agent_id, currency, creative_id, day)
);

-- The running series of a campaign: what a report by creative walks, one row each.
CREATE TABLE seller_delivery_series (
    campaign_id    TEXT NOT NULL,
    sales_agent_id TEXT NOT NULL,
    currency       TEXT NOT NULL,
    creative_id    TEXT NOT NULL,
    PRIMARY KEY (campaign_id, sales_agent_id, currency, creative_id)
);
CREATE INDEX seller_delivery_series_creative ON seller_delivery_series (campaign_id, creative_id);

-- Per campaign, seller, currency and day (creatives summed): reports by seller and by day.
-- `rows_n` counts the stored seller rows it sums (the row goes when none is left).
CREATE TABLE seller_delivery_days (
    campaign_id       TEXT NOT NULL,
    sales_agent_id    TEXT NOT NULL,
    currency          TEXT NOT NULL,
    day               TEXT NOT NULL,
    rows_n            BIGINT NOT NULL,
    impressions       BIGINT NOT NULL,
    clicks            BIGINT NOT NULL,
    spend             BIGINT NOT NULL,
    completed_views   BIGINT NOT NULL,
    q1_views          BIGINT NOT NULL,
    q2_views          BIGINT NOT NULL,
    q3_views          BIGINT NOT NULL,
    q4_views          BIGINT NOT NULL,
    completed_views_n BIGINT NOT NULL,
    q1_views_n        BIGINT NOT NULL,
    q2_views_n        BIGINT NOT NULL,
    q3_views_n        BIGINT NOT NULL,
    q4_views_n        BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, day, sales_agent_id, currency)
);

-- Rows stored before the roll-up existed.
INSERT INTO seller_delivery_running (campaign_id, sales_agent_id, currency, creative_id, day, impressions, clicks,
    spend, completed_views, q1_views, q2_views, q3_views, q4_views, completed_views_n, q1_views_n, q2_views_n,
    q3_views_n, q4_views_n)
SELECT campaign_id, sales_agent_id, currency, creative_id, day,
    SUM(CAST(ROUND(COALESCE(impressions, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(clicks, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(spend, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(completed_views, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(q1_views, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(q2_views, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(q3_views, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CAST(ROUND(COALESCE(q4_views, 0) * 10000) AS BIGINT)) OVER w,
    SUM(CASE WHEN completed_views IS NULL THEN 0 ELSE 1 END) OVER w,
    SUM(CASE WHEN q1_views IS NULL THEN 0 ELSE 1 END) OVER w,
    SUM(CASE WHEN q2_views IS NULL THEN 0 ELSE 1 END) OVER w,
    SUM(CASE WHEN q3_views IS NULL THEN 0 ELSE 1 END) OVER w,
    SUM(CASE WHEN q4_views IS NULL THEN 0 ELSE 1 END) OVER w
FROM seller_delivery
WINDOW w AS (PARTITION BY campaign_id, sales_agent_id, currency, creative_id ORDER BY day
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

INSERT INTO seller_delivery_series (campaign_id, sales_agent_id, currency, creative_id)
SELECT DISTINCT campaign_id, sales_agent_id, currency, creative_id FROM seller_delivery;

INSERT INTO seller_delivery_days (campaign_id, sales_agent_id, currency, day, rows_n, impressions, clicks, spend,
    completed_views, q1_views, q2_views, q3_views, q4_views, completed_views_n, q1_views_n, q2_views_n, q3_views_n,
    q4_views_n)
SELECT campaign_id, sales_agent_id, currency, day, COUNT(*),
    SUM(CAST(ROUND(COALESCE(impressions, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(clicks, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(spend, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(completed_views, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(q1_views, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(q2_views, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(q3_views, 0) * 10000) AS BIGINT)),
    SUM(CAST(ROUND(COALESCE(q4_views, 0) * 10000) AS BIGINT)),
    SUM(CASE WHEN completed_views IS NULL THEN 0 ELSE 1 END),
    SUM(CASE WHEN q1_views IS NULL THEN 0 ELSE 1 END),
    SUM(CASE WHEN q2_views IS NULL THEN 0 ELSE 1 END),
    SUM(CASE WHEN q3_views IS NULL THEN 0 ELSE 1 END),
    SUM(CASE WHEN q4_views IS NULL THEN 0 ELSE 1 END)
FROM seller_delivery GROUP BY campaign_id, sales_agent_id, currency, day;
