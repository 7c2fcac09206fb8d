-- Rate limits shared by every node: a token bucket per scope (signin,
-- challenge, credentials) and client (an IPv4 address or an IPv6 /64), kept
-- as the generic cell rate algorithm keeps it, by its theoretical arrival
-- time. A bucket whose tat has passed is full, the same as a missing row,
-- so the table is UNLOGGED: a crash that empties it only refills buckets,
-- and writing it costs no WAL.

CREATE UNLOGGED TABLE rate_limits (
	scope  text        NOT NULL,
	client text        NOT NULL,
	tat    timestamptz NOT NULL,
	taken  boolean     NOT NULL, -- whether the last take got a token
	PRIMARY KEY (scope, client)
);
