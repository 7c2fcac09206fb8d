-- Accounts, their API keys (hashes only), the key feed, used sign-in nonces
-- and server-wide settings. Times are INTEGER unix microseconds, UTC.

CREATE TABLE accounts (
	id             TEXT    NOT NULL PRIMARY KEY,
	wallet_address TEXT    NOT NULL UNIQUE,
	created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
	id           INTEGER PRIMARY KEY,
	account_id   TEXT    NOT NULL REFERENCES accounts (id),
	key_hash     BLOB    NOT NULL UNIQUE CHECK (length(key_hash) = 32),
	masked       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
) STRICT;

-- Every key of an account, live or not (Onboarded, foreign key checks).
CREATE INDEX api_keys_account ON api_keys (account_id);

-- At most one live key per account, enforced by the database itself.
CREATE UNIQUE INDEX api_keys_one_live_key ON api_keys (account_id) WHERE revoked_at IS NULL;

-- The key feed. AUTOINCREMENT: a seq is never reused, even once pruned.
-- Writers hold the database's single write lock while they insert, so seq
-- order is commit order.
CREATE TABLE key_events (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	kind           INTEGER NOT NULL CHECK (kind IN (1, 2)),
	account_id     TEXT    NOT NULL,
	key_hash       BLOB    NOT NULL,
	masked         TEXT    NOT NULL,
	key_created_at INTEGER NOT NULL,
	revoked_at     INTEGER,
	recorded_at    INTEGER NOT NULL
) STRICT;

CREATE INDEX key_events_recorded ON key_events (recorded_at);

-- The pruning horizon: every event with seq <= pruned_through is gone.
CREATE TABLE key_feed (
	id             INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	pruned_through INTEGER NOT NULL
) STRICT;

INSERT INTO key_feed (id, pruned_through) VALUES (1, 0);

CREATE TABLE used_nonces (
	nonce      TEXT    NOT NULL PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);

CREATE TABLE settings (
	name  TEXT NOT NULL PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
