-- list_creatives pages with keyset paging in SQL: one index per sort key, each ending in
-- creative_id so (key, creative_id) is unique and a page is an index range. The created_at one
-- exists since 0015. (account_id, status, format_key) covers the default filter (not archived) and
-- the grouped COUNT behind status_summary / format_summary.
CREATE INDEX storefront_creatives_updated ON storefront_creatives (account_id, updated_at, creative_id);
CREATE INDEX storefront_creatives_name ON storefront_creatives (account_id, name, creative_id);
CREATE INDEX storefront_creatives_status ON storefront_creatives (account_id, status, format_key, creative_id);
