-- Each running series carries its span and its totals through its last day (store/delivery_rollup.rs
-- keeps them in the write's transaction): a report by creative whose span reaches a series' last day
-- takes the totals from the series row, and one starting on or before its first day subtracts
-- nothing, so a whole-flight report reads the series rows alone (no step along the running rows).
-- `first_day`/`last_day`: the series' first and last day with a running row.

ALTER TABLE seller_delivery_series ADD COLUMN first_day TEXT NOT NULL DEFAULT '';
ALTER TABLE seller_delivery_series ADD COLUMN last_day TEXT NOT NULL DEFAULT '';
ALTER TABLE seller_delivery_series ADD COLUMN impressions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN clicks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN spend BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN completed_views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q1_views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q2_views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q3_views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q4_views BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN completed_views_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q1_views_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q2_views_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q3_views_n BIGINT NOT NULL DEFAULT 0;
ALTER TABLE seller_delivery_series ADD COLUMN q4_views_n BIGINT NOT NULL DEFAULT 0;

ALTER TABLE tracking_series ADD COLUMN first_day TEXT NOT NULL DEFAULT '';
ALTER TABLE tracking_series ADD COLUMN last_day TEXT NOT NULL DEFAULT '';
ALTER TABLE tracking_series ADD COLUMN impressions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tracking_series ADD COLUMN clicks BIGINT NOT NULL DEFAULT 0;

-- Series stored before these columns existed.
UPDATE seller_delivery_series SET
    first_day = COALESCE((SELECT MIN(r.day) FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id), ''),
    last_day = COALESCE((SELECT MAX(r.day) FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id), '');
UPDATE seller_delivery_series SET
    impressions = COALESCE((SELECT r.impressions FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    clicks = COALESCE((SELECT r.clicks FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    spend = COALESCE((SELECT r.spend FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    completed_views = COALESCE((SELECT r.completed_views FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q1_views = COALESCE((SELECT r.q1_views FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q2_views = COALESCE((SELECT r.q2_views FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q3_views = COALESCE((SELECT r.q3_views FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q4_views = COALESCE((SELECT r.q4_views FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    completed_views_n = COALESCE((SELECT r.completed_views_n FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q1_views_n = COALESCE((SELECT r.q1_views_n FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q2_views_n = COALESCE((SELECT r.q2_views_n FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q3_views_n = COALESCE((SELECT r.q3_views_n FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0),
    q4_views_n = COALESCE((SELECT r.q4_views_n FROM seller_delivery_running r WHERE r.campaign_id = seller_delivery_series.campaign_id AND r.sales_agent_id = seller_delivery_series.sales_agent_id AND r.currency = seller_delivery_series.currency AND r.creative_id = seller_delivery_series.creative_id AND r.day = seller_delivery_series.last_day), 0);

-- Series stored before these columns existed.
UPDATE tracking_series SET
    first_day = COALESCE((SELECT MIN(r.day) FROM tracking_running r WHERE r.campaign_id = tracking_series.campaign_id AND r.media_buy_id = tracking_series.media_buy_id AND r.creative_id = tracking_series.creative_id), ''),
    last_day = COALESCE((SELECT MAX(r.day) FROM tracking_running r WHERE r.campaign_id = tracking_series.campaign_id AND r.media_buy_id = tracking_series.media_buy_id AND r.creative_id = tracking_series.creative_id), '');
UPDATE tracking_series SET
    impressions = COALESCE((SELECT r.impressions FROM tracking_running r WHERE r.campaign_id = tracking_series.campaign_id AND r.media_buy_id = tracking_series.media_buy_id AND r.creative_id = tracking_series.creative_id AND r.day = tracking_series.last_day), 0),
    clicks = COALESCE((SELECT r.clicks FROM tracking_running r WHERE r.campaign_id = tracking_series.campaign_id AND r.media_buy_id = tracking_series.media_buy_id AND r.creative_id = tracking_series.creative_id AND r.day = tracking_series.last_day), 0);

-- The same running totals one level up, so a report by creative over any span steps along about
-- one series per creative instead of one per seller (or media buy) and creative: sellers summed per
-- campaign, currency and creative; the trackers' media buys summed per campaign and creative (a
-- report takes out of these the few media buys whose counts go to another currency).

CREATE TABLE seller_creative_running (
    campaign_id       TEXT NOT NULL,
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
    PRIMARY KEY (campaign_id, currency, creative_id, day)
);

CREATE TABLE seller_creative_series (
    campaign_id       TEXT NOT NULL,
    currency          TEXT NOT NULL,
    creative_id       TEXT NOT NULL,
    first_day         TEXT NOT NULL,
    last_day          TEXT NOT NULL,
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
    PRIMARY KEY (campaign_id, currency, creative_id)
);

CREATE TABLE tracking_creative_running (
    campaign_id       TEXT NOT NULL,
    creative_id       TEXT NOT NULL,
    day               TEXT NOT NULL,
    impressions       BIGINT NOT NULL,
    clicks            BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, creative_id, day)
);

CREATE TABLE tracking_creative_series (
    campaign_id       TEXT NOT NULL,
    creative_id       TEXT NOT NULL,
    first_day         TEXT NOT NULL,
    last_day          TEXT NOT NULL,
    impressions       BIGINT NOT NULL,
    clicks            BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, creative_id)
);

-- Rows stored before these tables existed.
INSERT INTO seller_creative_running (campaign_id, currency, creative_id, day, impressions, clicks, spend, completed_views, q1_views, q2_views, q3_views, q4_views, completed_views_n, q1_views_n, q2_views_n, q3_views_n, q4_views_n)
SELECT campaign_id, currency, creative_id, day,
    SUM(SUM(CAST(ROUND(COALESCE(impressions, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(clicks, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(spend, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(completed_views, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(q1_views, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(q2_views, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(q3_views, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CAST(ROUND(COALESCE(q4_views, 0) * 10000) AS BIGINT))) OVER w,
    SUM(SUM(CASE WHEN completed_views IS NULL THEN 0 ELSE 1 END)) OVER w,
    SUM(SUM(CASE WHEN q1_views IS NULL THEN 0 ELSE 1 END)) OVER w,
    SUM(SUM(CASE WHEN q2_views IS NULL THEN 0 ELSE 1 END)) OVER w,
    SUM(SUM(CASE WHEN q3_views IS NULL THEN 0 ELSE 1 END)) OVER w,
    SUM(SUM(CASE WHEN q4_views IS NULL THEN 0 ELSE 1 END)) OVER w
FROM seller_delivery GROUP BY campaign_id, currency, creative_id, day
WINDOW w AS (PARTITION BY campaign_id, currency, creative_id ORDER BY day
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

INSERT INTO tracking_creative_running (campaign_id, creative_id, day, impressions, clicks)
SELECT campaign_id, creative_id, day, SUM(SUM(impressions)) OVER w, SUM(SUM(clicks)) OVER w
FROM tracking_daily GROUP BY campaign_id, creative_id, day
WINDOW w AS (PARTITION BY campaign_id, creative_id ORDER BY day
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW);

INSERT INTO seller_creative_series (campaign_id, currency, creative_id, first_day, last_day, impressions, clicks, spend, completed_views, q1_views, q2_views, q3_views, q4_views, completed_views_n, q1_views_n, q2_views_n, q3_views_n, q4_views_n)
SELECT r.campaign_id, r.currency, r.creative_id, m.first_day, m.last_day, r.impressions, r.clicks, r.spend, r.completed_views, r.q1_views, r.q2_views, r.q3_views, r.q4_views, r.completed_views_n, r.q1_views_n, r.q2_views_n, r.q3_views_n, r.q4_views_n
FROM (SELECT campaign_id, currency, creative_id, MIN(day) AS first_day, MAX(day) AS last_day FROM seller_creative_running GROUP BY campaign_id, currency, creative_id) m
JOIN seller_creative_running r ON r.campaign_id = m.campaign_id AND r.currency = m.currency AND r.creative_id = m.creative_id AND r.day = m.last_day;

INSERT INTO tracking_creative_series (campaign_id, creative_id, first_day, last_day, impressions, clicks)
SELECT r.campaign_id, r.creative_id, m.first_day, m.last_day, r.impressions, r.clicks
FROM (SELECT campaign_id, creative_id, MIN(day) AS first_day, MAX(day) AS last_day FROM tracking_creative_running GROUP BY campaign_id, creative_id) m
JOIN tracking_creative_running r ON r.campaign_id = m.campaign_id AND r.creative_id = m.creative_id AND r.day = m.last_day;
