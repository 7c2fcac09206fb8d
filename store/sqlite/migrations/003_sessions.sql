-- Server-side sessions: each sign-in starts one, and a token is valid only
-- while its session lives. Only the SHA-256 of a session's id is kept, so
-- the database yields no id a token could carry. Times are INTEGER unix
-- microseconds, UTC.

CREATE TABLE sessions (
	id_hash      BLOB    NOT NULL PRIMARY KEY CHECK (length(id_hash) = 32),
	account_id   TEXT    NOT NULL REFERENCES accounts (id),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	ended_at     INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- The feed carries sessions' starts (3) and ends (4) too: key_hash holds the
-- session's hash, key_created_at its start, revoked_at its end, and the new
-- expires_at its expiry. SQLite cannot change a CHECK, so the table is
-- rebuilt; its AUTOINCREMENT counter must not go back, even when every
-- event has been pruned, so it is set from the feed's horizon too.
CREATE TABLE key_events_new (
	seq            INTEGER PRIMARY KEY AUTOINCREMENT,
	kind           INTEGER NOT NULL CHECK (kind IN (1, 2, 3, 4)),
	account_id     TEXT    NOT NULL,
	key_hash       BLOB    NOT NULL,
	masked         TEXT    NOT NULL,
	key_created_at INTEGER NOT NULL,
	revoked_at     INTEGER,
	recorded_at    INTEGER NOT NULL,
	expires_at     INTEGER
) STRICT;

INSERT INTO key_events_new (seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at)
	SELECT seq, kind, account_id, key_hash, masked, key_created_at, revoked_at, recorded_at FROM key_events;

CREATE TEMP TABLE last_seq AS
	SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'key_events'), 0),
		(SELECT pruned_through FROM key_feed)) AS seq;

DROP TABLE key_events;
ALTER TABLE key_events_new RENAME TO key_events;

DELETE FROM sqlite_sequence WHERE name = 'key_events';
INSERT INTO sqlite_sequence (name, seq) SELECT 'key_events', seq FROM temp.last_seq;
DROP TABLE temp.last_seq;

CREATE INDEX key_events_recorded ON key_events (recorded_at);
