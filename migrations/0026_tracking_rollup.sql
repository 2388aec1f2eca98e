-- The trackers' counts rolled up per creative, media buy (the {MEDIA_BUY_ID} the seller filled in, ''
-- when none) and UTC day, kept up to date as events are written: reports never scan raw events.
CREATE TABLE tracking_daily (
    creative_id  TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    media_buy_id TEXT NOT NULL,
    day          TEXT NOT NULL,
    impressions  BIGINT NOT NULL,
    clicks       BIGINT NOT NULL,
    PRIMARY KEY (creative_id, media_buy_id, day)
);
CREATE INDEX tracking_daily_campaign ON tracking_daily (campaign_id, day);

-- Events recorded before the roll-up existed, counted once (their media buy is not parsed here).
INSERT INTO tracking_daily (creative_id, campaign_id, media_buy_id, day, impressions, clicks)
SELECT creative_id, COALESCE(MAX(campaign_id), ''), '', SUBSTR(at, 1, 10),
       SUM(CASE WHEN kind = 'impression' THEN 1 ELSE 0 END),
       SUM(CASE WHEN kind = 'click' THEN 1 ELSE 0 END)
FROM tracking_events GROUP BY creative_id, SUBSTR(at, 1, 10);
