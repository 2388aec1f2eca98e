-- Manifest lists filter on the campaign and the customer, sort on (created_at, id) and search the
-- name: with all of them in one index, the page, its total and a name search read the index alone,
-- not the table (whose rows carry the manifests' JSON). It replaces the campaign-only index.
CREATE INDEX creatives_list ON creatives (campaign_id, customer_id, created_at, id, name);
DROP INDEX creatives_campaign;
