-- A manifest's `performance` reads one creative's delivery over a span of days: the primary key
-- leads with the seller, so without this index that read went through every row of the campaign.
CREATE INDEX seller_delivery_creative ON seller_delivery (campaign_id, creative_id, day);
