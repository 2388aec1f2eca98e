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
