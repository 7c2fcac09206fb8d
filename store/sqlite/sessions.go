package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/espresso-auth/espresso/store"
)

// sessionColumns are the sessions columns scanSession reads.
const sessionColumns = `id_hash, account_id, created_at, expires_at, last_used_at, ended_at`

func (x executor) InsertSession(ctx context.Context, s store.Session) error {
	_, err := x.tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		s.Hash[:], s.AccountID, toMicros(s.CreatedAt), toMicros(s.ExpiresAt))
	return err
}

func (x executor) EndSession(ctx context.Context, accountID string, hash store.SessionHash, at time.Time) (store.Session, bool, error) {
	ended, err := x.sessions(ctx, `UPDATE sessions SET ended_at = ?1
		WHERE id_hash = ?2 AND account_id = ?3 AND ended_at IS NULL AND expires_at > ?1
		RETURNING `+sessionColumns, toMicros(at), hash[:], accountID)
	if err != nil || len(ended) == 0 {
		return store.Session{}, false, err
	}
	return ended[0], true, nil
}

func (x executor) EndAccountSessions(ctx context.Context, accountID string, at time.Time) ([]store.Session, error) {
	return x.sessions(ctx, `UPDATE sessions SET ended_at = ?1
		WHERE account_id = ?2 AND ended_at IS NULL AND expires_at > ?1
		RETURNING `+sessionColumns, toMicros(at), accountID)
}

// LiveSessionsAfter walks the primary key: every hash sorts after the
// empty blob.
func (x executor) LiveSessionsAfter(ctx context.Context, now time.Time, after []byte, limit int) ([]store.Session, error) {
	return x.sessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE id_hash > ?2 AND ended_at IS NULL AND expires_at > ?1
		ORDER BY id_hash LIMIT ?3`, toMicros(now), append([]byte{}, after...), limit)
}

func (x executor) AccountSessions(ctx context.Context, accountID string, now time.Time) ([]store.Session, error) {
	return x.sessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE account_id = ? AND ended_at IS NULL AND expires_at > ?
		ORDER BY created_at DESC, id_hash`, accountID, toMicros(now))
}

func (x executor) RecordSessionUse(ctx context.Context, uses []store.SessionUse) error {
	return x.raiseLastUses(ctx, `UPDATE sessions SET last_used_at = ?1
		WHERE id_hash = ?2 AND ended_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?1)`,
		len(uses), func(i int) (time.Time, []byte) { return uses[i].At, uses[i].Hash[:] })
}

func (x executor) DeleteSessionsBefore(ctx context.Context, t time.Time) (int64, error) {
	return x.affected(x.tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?1 OR ended_at < ?1`, toMicros(t)))
}

// DeleteAccount deletes the rows that refer to the account before the
// account itself: foreign keys are enforced.
func (x executor) DeleteAccount(ctx context.Context, accountID string) (bool, error) {
	for _, table := range []string{"sessions", "api_keys", "spot_accounts"} {
		if _, err := x.tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_id = ?`, accountID); err != nil {
			return false, err
		}
	}
	n, err := x.affected(x.tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = ?`, accountID))
	return n > 0, err
}

// sessions runs a query of sessionColumns.
func (x executor) sessions(ctx context.Context, query string, args ...any) ([]store.Session, error) {
	rows, err := x.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []store.Session
	for rows.Next() {
		var (
			s                 store.Session
			hash              []byte
			created, expires  int64
			lastUsed, endedAt sql.NullInt64
		)
		if err := rows.Scan(&hash, &s.AccountID, &created, &expires, &lastUsed, &endedAt); err != nil {
			return nil, err
		}
		if err := store.CopyHash(&s.Hash, hash); err != nil {
			return nil, err
		}
		s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
		s.LastUsedAt, s.EndedAt = fromNullMicros(lastUsed), fromNullMicros(endedAt)
		out = append(out, s)
	}
	return out, rows.Err()
}
