package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// RotateKey revokes the account's live key (which must be current when
// current is not nil) and issues next, in one transaction, and returns next
// and the events recorded: KeyRevoked (if a key was revoked) then KeyIssued.
// espresso.ErrUserNotFound if the account does not exist; store.ErrKeyNotLive, with
// nothing changed, if current is not its live key. Of concurrent rotations
// presenting the same current key, in any number of processes, exactly one
// succeeds: they take the feed lock one after the other, and each checks
// current once it holds it.
func (s *Store) RotateKey(ctx context.Context, accountID string, current *apikey.Hash, next store.NewKey) (store.Key, []store.Event, error) {
	var (
		key    store.Key
		events []store.Event
	)
	err := s.tx(ctx, "rotate key", pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) error {
		events = nil
		if _, err := tx.Exec(ctx, feedLock); err != nil {
			return err
		}
		now := s.clock()
		if err := accountExists(ctx, tx, accountID); err != nil {
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
	err := s.tx(ctx, "revoke key", pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) error {
		events = nil
		if _, err := tx.Exec(ctx, feedLock); err != nil {
			return err
		}
		now := s.clock()
		var err error
		key, err = revokeLive(ctx, tx, accountID, current, now)
		if errors.Is(err, espresso.ErrNoKey) {
			if current != nil {
				return store.ErrKeyNotLive
			}
			if err := accountExists(ctx, tx, accountID); err != nil {
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

// accountExists returns nil if the account exists, else espresso.ErrUserNotFound.
func accountExists(ctx context.Context, q querier, accountID string) error {
	var ok bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1)`, accountID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return espresso.ErrUserNotFound
	}
	return nil
}

// revokeLive revokes the account's live key, provided it is current when
// current is not nil, and returns it; espresso.ErrNoKey if there is no such
// key.
func revokeLive(ctx context.Context, tx pgx.Tx, accountID string, current *apikey.Hash, now time.Time) (store.Key, error) {
	q := `UPDATE api_keys SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL`
	args := []any{now, accountID}
	if current != nil {
		q += ` AND key_hash = $3`
		args = append(args, current[:])
	}
	k, err := scanKey(tx.QueryRow(ctx, q+` RETURNING `+keyColumns, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Key{}, espresso.ErrNoKey
	}
	return k, err
}

// insertKey stores nk as the account's live key; the account must have none.
func insertKey(ctx context.Context, tx pgx.Tx, accountID string, nk store.NewKey, now time.Time) (store.Key, error) {
	_, err := tx.Exec(ctx, `INSERT INTO api_keys (key_hash, account_id, masked, created_at) VALUES ($1, $2, $3, $4)`,
		nk.Hash[:], accountID, nk.Masked, now)
	if err != nil {
		return store.Key{}, err
	}
	return store.Key{AccountID: accountID, Hash: nk.Hash, Masked: nk.Masked, CreatedAt: now}, nil
}

// LiveKey returns the account's live key, espresso.ErrNoKey if it has none,
// or espresso.ErrUserNotFound if the account does not exist.
func (s *Store) LiveKey(ctx context.Context, accountID string) (store.Key, error) {
	var k store.Key
	err := s.run(ctx, "live key", func(ctx context.Context) (err error) {
		k, err = scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
			WHERE account_id = $1 AND revoked_at IS NULL`, accountID))
		if errors.Is(err, pgx.ErrNoRows) {
			err = espresso.ErrNoKey
			if aerr := accountExists(ctx, s.pool, accountID); aerr != nil {
				err = aerr
			}
		}
		return err
	})
	return k, err
}

// RecordUse raises the last use time of each live key in uses, in one
// statement; unknown and revoked keys are skipped. It locks the keys in hash
// order, so that concurrent calls (from any process) never deadlock.
func (s *Store) RecordUse(ctx context.Context, uses map[apikey.Hash]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	hashes := make([]apikey.Hash, 0, len(uses))
	for h := range uses {
		hashes = append(hashes, h)
	}
	sort.Slice(hashes, func(i, j int) bool { return string(hashes[i][:]) < string(hashes[j][:]) })
	hs := make([][]byte, len(hashes))
	ats := make([]time.Time, len(hashes))
	for i, h := range hashes {
		hs[i] = h[:]
		ats[i] = uses[h].UTC().Truncate(time.Microsecond)
	}
	return s.run(ctx, "record use", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `WITH u AS (
				SELECT k.key_hash, u.at FROM api_keys k
				JOIN unnest($1::bytea[], $2::timestamptz[]) AS u (key_hash, at) ON k.key_hash = u.key_hash
				WHERE k.revoked_at IS NULL AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
				ORDER BY k.key_hash
				FOR UPDATE OF k
			)
			UPDATE api_keys k SET last_used_at = u.at FROM u
			WHERE k.key_hash = u.key_hash AND k.revoked_at IS NULL
				AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, hs, ats)
		return err
	})
}

// keyColumns are the api_keys columns scanKey reads.
const keyColumns = `account_id, key_hash, masked, created_at, last_used_at, revoked_at`

// scanKey scans the keyColumns of one row.
func scanKey(row pgx.Row) (store.Key, error) {
	var (
		k                 store.Key
		hash              []byte
		lastUsed, revoked *time.Time
	)
	if err := row.Scan(&k.AccountID, &hash, &k.Masked, &k.CreatedAt, &lastUsed, &revoked); err != nil {
		return store.Key{}, err
	}
	if len(hash) != len(k.Hash) {
		return store.Key{}, fmt.Errorf("a stored key hash is %d bytes long, not %d", len(hash), len(k.Hash))
	}
	copy(k.Hash[:], hash)
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt = timeOrZero(lastUsed)
	k.RevokedAt = timeOrZero(revoked)
	return k, nil
}
