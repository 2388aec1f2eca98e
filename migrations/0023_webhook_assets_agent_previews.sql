-- Issue 16. Webhook (DCO) assets: the AdCP configuration as JSON (the URL goes in `url`), and the
-- buyer's signing secret or API key, sealed (never stored in the clear, never returned).
ALTER TABLE creative_assets ADD COLUMN webhook TEXT;
ALTER TABLE creative_assets ADD COLUMN webhook_secret TEXT;
-- Previews rendered by the formats' own AdCP agents (`preview_creative`), and why an agent gave
-- none, both JSON lists, written by POST .../preview beside the service's own preview page.
ALTER TABLE creatives ADD COLUMN agent_previews TEXT;
ALTER TABLE creatives ADD COLUMN preview_errors TEXT;
