-- A click replayed from the same client within a short window is counted once: its dedup key (a hash
-- of link, client and window) is unique. Impressions have none (NULLs never collide).
ALTER TABLE tracking_events ADD COLUMN dedup_key TEXT;
CREATE UNIQUE INDEX tracking_events_dedup ON tracking_events (dedup_key);
