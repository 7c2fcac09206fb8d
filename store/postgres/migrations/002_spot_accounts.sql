-- Spot accounts: each account's operation key, the trading key its bots
-- load at start-up, sealed with the owner's password (the server never sees
-- the password or the key, only this opaque text). An account has at most
-- one; an account with one is onboarded. The limits repeat the server's own
-- checks. Nodes read this table on every request that needs it: a commit
-- on one node is seen by every other at once.

CREATE TABLE spot_accounts (
	account_id              text        NOT NULL PRIMARY KEY REFERENCES accounts (id),
	encrypted_operation_key text        NOT NULL CHECK (octet_length(encrypted_operation_key) BETWEEN 1 AND 4096),
	operation_key_hash      text        NOT NULL CHECK (octet_length(operation_key_hash) BETWEEN 1 AND 128),
	is_script_operation_key boolean     NOT NULL,
	created_at              timestamptz NOT NULL,
	updated_at              timestamptz NOT NULL
);
