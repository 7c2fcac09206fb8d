package postgres

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// sessionColumns are the sessions columns scanSessions reads.
const sessionColumns = `id_hash, account_id, created_at, expires_at, last_used_at, ended_at`

func (x *executor) InsertSession(ctx context.Context, s store.Session) error {
	return x.execHeld(ctx, `INSERT INTO sessions (id_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.Hash[:], s.AccountID, s.CreatedAt, s.ExpiresAt)
}

func (x *executor) EndSession(ctx context.Context, accountID string, hash store.SessionHash, at time.Time) (store.Session, bool, error) {
	ended, err := x.sessions(ctx, `UPDATE sessions SET ended_at = $1
		WHERE id_hash = $2 AND account_id = $3 AND ended_at IS NULL AND expires_at > $1
		RETURNING `+sessionColumns, at, hash[:], accountID)
	if err != nil || len(ended) == 0 {
		return store.Session{}, false, err
	}
	return ended[0], true, nil
}

func (x *executor) EndAccountSessions(ctx context.Context, accountID string, at time.Time) ([]store.Session, error) {
	return x.sessions(ctx, `UPDATE sessions SET ended_at = $1
		WHERE account_id = $2 AND ended_at IS NULL AND expires_at > $1
		RETURNING `+sessionColumns, at, accountID)
}

// LiveSessionsAfter walks the primary key: every hash sorts after the
// empty bytea.
func (x *executor) LiveSessionsAfter(ctx context.Context, now time.Time, after []byte, limit int) ([]store.Session, error) {
	return x.sessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE id_hash > $2 AND ended_at IS NULL AND expires_at > $1
		ORDER BY id_hash LIMIT $3`, now, append([]byte{}, after...), limit)
}

func (x *executor) AccountSessions(ctx context.Context, accountID string, now time.Time) ([]store.Session, error) {
	return x.sessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE account_id = $1 AND ended_at IS NULL AND expires_at > $2
		ORDER BY created_at DESC, id_hash`, accountID, now)
}

// RecordSessionUse sends one statement for the whole batch, in the order
// given (WITH ORDINALITY), so row locks are taken in that order.
func (x *executor) RecordSessionUse(ctx context.Context, uses []store.SessionUse) error {
	hashes := make([][]byte, len(uses))
	times := make([]time.Time, len(uses))
	for i, u := range uses {
		hashes[i], times[i] = u.Hash[:], u.At
	}
	_, err := x.q.Exec(ctx, `UPDATE sessions s SET last_used_at = u.at
		FROM (SELECT * FROM unnest($1::bytea[], $2::timestamptz[]) WITH ORDINALITY AS u(hash, at, n) ORDER BY n) u
		WHERE s.id_hash = u.hash AND s.ended_at IS NULL AND (s.last_used_at IS NULL OR s.last_used_at < u.at)`,
		hashes, times)
	return err
}

func (x *executor) DeleteSessionsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := x.q.Exec(ctx, `DELETE FROM sessions WHERE expires_at < $1 OR ended_at < $1`, t)
	return tag.RowsAffected(), err
}

// DeleteAccount deletes the rows that refer to the account, then the
// account, in one statement.
func (x *executor) DeleteAccount(ctx context.Context, accountID string) (bool, error) {
	var n int64
	err := x.q.QueryRow(ctx, `WITH
			s AS (DELETE FROM sessions WHERE account_id = $1),
			k AS (DELETE FROM api_keys WHERE account_id = $1),
			p AS (DELETE FROM spot_accounts WHERE account_id = $1)
		SELECT count(*) FROM (SELECT 1 FROM accounts WHERE id = $1) a`, accountID).Scan(&n)
	if err != nil || n == 0 {
		return false, err
	}
	tag, err := x.q.Exec(ctx, `DELETE FROM accounts WHERE id = $1`, accountID)
	return tag.RowsAffected() > 0, err
}

// sessions runs a query of sessionColumns.
func (x *executor) sessions(ctx context.Context, query string, args ...any) ([]store.Session, error) {
	rows, err := x.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		var (
			s                 store.Session
			hash              []byte
			lastUsed, endedAt *time.Time
		)
		if err := rows.Scan(&hash, &s.AccountID, &s.CreatedAt, &s.ExpiresAt, &lastUsed, &endedAt); err != nil {
			return nil, err
		}
		if err := store.CopyHash(&s.Hash, hash); err != nil {
			return nil, err
		}
		s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
		s.LastUsedAt, s.EndedAt = timeOrZero(lastUsed), timeOrZero(endedAt)
		out = append(out, s)
	}
	return out, rows.Err()
}
