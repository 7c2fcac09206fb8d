package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// RotateKey revokes the account's live key (which must be current when
// current is not nil) and issues next, in one transaction, and returns next
// and the events recorded: KeyRevoked (if a key was revoked) then KeyIssued.
// espresso.ErrUserNotFound if the account does not exist; store.ErrKeyNotLive, with
// nothing changed, if current is not its live key.
func (s *Store) RotateKey(ctx context.Context, accountID string, current *apikey.Hash, next store.NewKey) (store.Key, []store.Event, error) {
	var (
		key    store.Key
		events []store.Event
	)
	err := s.write(ctx, "rotate key", func(tx *sql.Tx, now time.Time) error {
		if _, err := accountWhere(ctx, tx, "a.id = ?", accountID); err != nil {
			return err
		}
		old, err := revokeLive(ctx, tx, accountID, current, now)
		switch {
		case err == nil:
			ev, err := recordEvent(ctx, tx, store.KeyRevoked, old, now)
			if err != nil {
				return err
			}
			events = append(events, ev)
		case !errors.Is(err, espresso.ErrNoKey):
			return err
		case current != nil:
			return store.ErrKeyNotLive
		}
		key, err = insertKey(ctx, tx, accountID, next, now)
		if err != nil {
			return err
		}
		ev, err := recordEvent(ctx, tx, store.KeyIssued, key, now)
		events = append(events, ev)
		return err
	})
	if err != nil {
		return store.Key{}, nil, err
	}
	return key, events, nil
}

// RevokeKey revokes the account's live key, which must be current when
// current is not nil, and returns it (RevokedAt set) and the KeyRevoked event.
// When current is nil, espresso.ErrNoKey if the account has no live key
// (espresso.ErrUserNotFound if it does not exist); otherwise
// store.ErrKeyNotLive, with nothing changed, if current is not its live key
// (or the account does not exist).
func (s *Store) RevokeKey(ctx context.Context, accountID string, current *apikey.Hash) (store.Key, []store.Event, error) {
	var (
		key    store.Key
		events []store.Event
	)
	err := s.write(ctx, "revoke key", func(tx *sql.Tx, now time.Time) error {
		var err error
		key, err = revokeLive(ctx, tx, accountID, current, now)
		if errors.Is(err, espresso.ErrNoKey) {
			if current != nil {
				return store.ErrKeyNotLive
			}
			if _, err := accountWhere(ctx, tx, "a.id = ?", accountID); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		ev, err := recordEvent(ctx, tx, store.KeyRevoked, key, now)
		events = []store.Event{ev}
		return err
	})
	if err != nil {
		return store.Key{}, nil, err
	}
	return key, events, nil
}

// revokeLive revokes the account's live key, provided it is current when
// current is not nil, and returns it; espresso.ErrNoKey if there is no such
// key.
func revokeLive(ctx context.Context, tx *sql.Tx, accountID string, current *apikey.Hash, now time.Time) (store.Key, error) {
	q := `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL`
	args := []any{toMicros(now), accountID}
	if current != nil {
		q += ` AND key_hash = ?`
		args = append(args, current[:])
	}
	q += ` RETURNING ` + keyColumns
	k, err := scanKey(tx.QueryRowContext(ctx, q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, espresso.ErrNoKey
	}
	return k, err
}

// insertKey stores nk as the account's live key; the account must have none.
func insertKey(ctx context.Context, tx *sql.Tx, accountID string, nk store.NewKey, now time.Time) (store.Key, error) {
	_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (account_id, key_hash, masked, created_at) VALUES (?, ?, ?, ?)`,
		accountID, nk.Hash[:], nk.Masked, toMicros(now))
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{AccountID: accountID, Hash: nk.Hash, Masked: nk.Masked, CreatedAt: now}, nil
}

// LiveKey returns the account's live key, espresso.ErrNoKey if it has none,
// or espresso.ErrUserNotFound if the account does not exist.
func (s *Store) LiveKey(ctx context.Context, accountID string) (store.Key, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE account_id = ? AND revoked_at IS NULL`, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		err = espresso.ErrNoKey
		if _, aerr := accountWhere(ctx, s.r, "a.id = ?", accountID); aerr != nil {
			err = aerr
		}
	}
	return k, classify("live key", err)
}

// RecordUse raises the last use time of each live key in uses, in one
// transaction; unknown and revoked keys are skipped.
func (s *Store) RecordUse(ctx context.Context, uses map[apikey.Hash]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	return s.write(ctx, "record use", func(tx *sql.Tx, _ time.Time) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET last_used_at = ?1
			WHERE key_hash = ?2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?1)`)
		if err != nil {
			return err
		}
		defer func() { _ = stmt.Close() }()
		for h, at := range uses {
			if _, err := stmt.ExecContext(ctx, toMicros(at), h[:]); err != nil {
				return err
			}
		}
		return nil
	})
}

// keyColumns are the api_keys columns scanKey reads.
const keyColumns = `account_id, key_hash, masked, created_at, last_used_at, revoked_at`

// scanKey scans the keyColumns of one row.
func scanKey(row interface{ Scan(...any) error }) (store.Key, error) {
	var (
		k                 store.Key
		hash              []byte
		created           int64
		lastUsed, revoked sql.NullInt64
	)
	if err := row.Scan(&k.AccountID, &hash, &k.Masked, &created, &lastUsed, &revoked); err != nil {
		return store.Key{}, err
	}
	if len(hash) != len(k.Hash) {
		return store.Key{}, fmt.Errorf("a stored key hash is %d bytes long, not %d", len(hash), len(k.Hash))
	}
	copy(k.Hash[:], hash)
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt = fromNullMicros(lastUsed)
	k.RevokedAt = fromNullMicros(revoked)
	return k, nil
}
