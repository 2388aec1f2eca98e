-- Browser sessions of the web UI (src/ui/). A session is opened by signing in with an API key and
-- acts as that key's customer. Only the SHA-256 of the session token is stored, so a dump of this
-- table opens no session; the CSRF token is per session and is not a secret from its own browser.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    key_label   TEXT NOT NULL,
    csrf_token  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE INDEX web_sessions_expiry ON web_sessions (expires_at);
