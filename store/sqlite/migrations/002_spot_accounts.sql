-- Spot accounts: each account's operation key, the trading key its bots
-- load at start-up, sealed with the owner's password (the server never sees
-- the password or the key, only this opaque text). An account has at most
-- one; an account with one is onboarded. Times are INTEGER unix
-- microseconds, UTC. The limits repeat the server's own checks.

CREATE TABLE spot_accounts (
	account_id              TEXT    NOT NULL PRIMARY KEY REFERENCES accounts (id),
	encrypted_operation_key TEXT    NOT NULL CHECK (length(encrypted_operation_key) BETWEEN 1 AND 4096),
	operation_key_hash      TEXT    NOT NULL CHECK (length(operation_key_hash) BETWEEN 1 AND 128),
	is_script_operation_key INTEGER NOT NULL CHECK (is_script_operation_key IN (0, 1)),
	created_at              INTEGER NOT NULL,
	updated_at              INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
