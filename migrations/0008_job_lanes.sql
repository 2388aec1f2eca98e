-- At most one running job per campaign and seller (a lane), enforced by the database: two claims
-- that race past the queue's lane check cannot both start, on SQLite or PostgreSQL. Jobs without a
-- campaign or seller have no lane (NULLs are distinct in a unique index).
-- Before the index, any extra running job of a lane goes back to pending; its next claim retries it
-- with its own idempotency key.
UPDATE jobs SET status = 'pending', lease_owner = NULL, lease_expires_at = NULL
WHERE status = 'running' AND EXISTS (
    SELECT 1 FROM jobs o WHERE o.campaign_id = jobs.campaign_id AND o.sales_agent_id = jobs.sales_agent_id
      AND o.status = 'running' AND o.id < jobs.id
);
CREATE UNIQUE INDEX jobs_one_running_per_lane ON jobs (campaign_id, sales_agent_id) WHERE status = 'running';
