-- What processing made of an asset: the served copy (rewritten HTML, VAST with trackers), the files
-- of an HTML5 bundle, and a report (JSON). Every key here is deleted with the asset.
ALTER TABLE creative_assets ADD COLUMN processed_key TEXT;
ALTER TABLE creative_assets ADD COLUMN extra_keys TEXT NOT NULL DEFAULT '[]';
ALTER TABLE creative_assets ADD COLUMN details TEXT;
-- The template detected when the buyer named none.
ALTER TABLE creatives ADD COLUMN auto_detected_template TEXT;
