-- Server-side sessions: each sign-in starts one, and a token is valid only
-- while its session lives. Only the SHA-256 of a session's id is kept, so
-- the database yields no id a token could carry.

CREATE TABLE sessions (
	id_hash      bytea       NOT NULL PRIMARY KEY CHECK (octet_length(id_hash) = 32),
	account_id   text        NOT NULL REFERENCES accounts (id),
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	ended_at     timestamptz
);

CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The feed carries sessions' starts (3) and ends (4) too: key_hash holds the
-- session's hash, key_created_at its start, revoked_at its end, and
-- expires_at its expiry.
ALTER TABLE key_events DROP CONSTRAINT key_events_kind_check;
ALTER TABLE key_events ADD CONSTRAINT key_events_kind_check CHECK (kind IN (1, 2, 3, 4));
ALTER TABLE key_events ADD COLUMN expires_at timestamptz;
