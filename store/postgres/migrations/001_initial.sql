-- Accounts, their API keys (hashes only), the key feed, used sign-in nonces
-- and server-wide settings. Every object is created in the first schema of
-- the connection's search_path (current_schema()), so one database can hold
-- several isolated espresso schemas.

CREATE TABLE accounts (
	id             text        NOT NULL PRIMARY KEY,
	wallet_address text        NOT NULL,
	created_at     timestamptz NOT NULL,
	CONSTRAINT accounts_wallet_address_key UNIQUE (wallet_address)
);

CREATE TABLE api_keys (
	key_hash     bytea       NOT NULL PRIMARY KEY CHECK (octet_length(key_hash) = 32),
	account_id   text        NOT NULL REFERENCES accounts (id),
	masked       text        NOT NULL,
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz,
	revoked_at   timestamptz
);

-- Every key of an account, live or not (Onboarded, foreign key checks).
CREATE INDEX api_keys_account ON api_keys (account_id);

-- At most one live key per account, enforced by the database itself.
CREATE UNIQUE INDEX api_keys_one_live_key ON api_keys (account_id) WHERE revoked_at IS NULL;

-- The state of the key feed, one row. Every transaction that records events
-- first takes the feed's advisory transaction lock, then allocates seqs from
-- last_seq: seqs are gapless and their order is commit order.
-- pruned_through is the pruning horizon: every event with seq <=
-- pruned_through is gone.
CREATE TABLE key_feed (
	id             boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (id),
	last_seq       bigint  NOT NULL CHECK (last_seq >= 0),
	pruned_through bigint  NOT NULL CHECK (pruned_through >= 0)
);

INSERT INTO key_feed (id, last_seq, pruned_through) VALUES (true, 0, 0);

-- The key feed. kind is store.EventKind: 1 issued, 2 revoked. The key's
-- fields are copied as they were when the event was recorded.
CREATE TABLE key_events (
	seq            bigint      NOT NULL PRIMARY KEY,
	kind           smallint    NOT NULL CHECK (kind IN (1, 2)),
	account_id     text        NOT NULL,
	key_hash       bytea       NOT NULL,
	masked         text        NOT NULL,
	key_created_at timestamptz NOT NULL,
	revoked_at     timestamptz,
	recorded_at    timestamptz NOT NULL
);

CREATE INDEX key_events_recorded ON key_events (recorded_at);

-- Wakes every listener of this schema's channel when events commit: NOTIFY is
-- transactional, so listeners hear it right after the commit, never before.
-- The channel is named after the table's schema (hashed, to stay within
-- PostgreSQL's 63-byte identifier limit); see Store.Watch.
CREATE FUNCTION key_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('espresso_keys_' || left(md5(TG_TABLE_SCHEMA), 16), '');
	RETURN NULL;
END
$$;

CREATE TRIGGER key_events_notify AFTER INSERT ON key_events
	FOR EACH STATEMENT EXECUTE FUNCTION key_events_notify();

CREATE TABLE used_nonces (
	nonce      text        NOT NULL PRIMARY KEY,
	expires_at timestamptz NOT NULL
);

CREATE INDEX used_nonces_expiry ON used_nonces (expires_at);

CREATE TABLE settings (
	name  text  NOT NULL PRIMARY KEY,
	value bytea NOT NULL
);
