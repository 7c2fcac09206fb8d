package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// keyColumns are the api_keys columns oneKey reads, and the wallet of the
// key's account.
const keyColumns = `account_id, key_hash, masked, created_at, last_used_at, revoked_at,
	(SELECT a.wallet_address FROM accounts a WHERE a.id = api_keys.account_id)`

func (x *executor) LiveKey(ctx context.Context, accountID string) (store.Key, bool, error) {
	return oneKey(x.q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE account_id = $1 AND revoked_at IS NULL`, accountID))
}

func (x *executor) RevokeLiveKey(ctx context.Context, accountID string, current *apikey.Hash, at time.Time) (store.Key, bool, error) {
	var presented []byte // NULL: any live key
	if current != nil {
		presented = current[:]
	}
	return oneKey(x.q.QueryRow(ctx, `UPDATE api_keys SET revoked_at = $1
		WHERE account_id = $2 AND revoked_at IS NULL AND ($3::bytea IS NULL OR key_hash = $3)
		RETURNING `+keyColumns, at, accountID, presented))
}

func (x *executor) InsertKey(ctx context.Context, k store.Key) error {
	return x.execHeld(ctx, `INSERT INTO api_keys (key_hash, account_id, masked, created_at) VALUES ($1, $2, $3, $4)`,
		k.Hash[:], k.AccountID, k.Masked, k.CreatedAt)
}

// RecordUse is one statement, which locks the keys in the order given (the
// store's: by hash), so that concurrent calls from any process never
// deadlock.
func (x *executor) RecordUse(ctx context.Context, uses []store.Use) error {
	hashes := make([][]byte, len(uses))
	ats := make([]time.Time, len(uses))
	for i, u := range uses {
		hashes[i], ats[i] = u.Hash[:], u.At
	}
	_, err := x.q.Exec(ctx, `WITH u AS (
			SELECT k.key_hash, u.at FROM api_keys k
			JOIN unnest($1::bytea[], $2::timestamptz[]) WITH ORDINALITY AS u (key_hash, at, n) ON k.key_hash = u.key_hash
			WHERE k.revoked_at IS NULL AND (k.last_used_at IS NULL OR k.last_used_at < u.at)
			ORDER BY u.n
			FOR UPDATE OF k
		)
		UPDATE api_keys k SET last_used_at = u.at FROM u
		WHERE k.key_hash = u.key_hash AND k.revoked_at IS NULL
			AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, hashes, ats)
	return err
}

// oneKey scans the keyColumns of row, if there is one.
func oneKey(row pgx.Row) (store.Key, bool, error) {
	var (
		k                 store.Key
		hash              []byte
		lastUsed, revoked *time.Time
	)
	err := row.Scan(&k.AccountID, &hash, &k.Masked, &k.CreatedAt, &lastUsed, &revoked, &k.WalletAddress)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Key{}, false, nil
	}
	if err == nil {
		err = store.CopyHash(&k.Hash, hash)
	}
	if err != nil {
		return store.Key{}, false, err
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt = timeOrZero(lastUsed)
	k.RevokedAt = timeOrZero(revoked)
	return k, true, nil
}

func (x *executor) LiveKeyByHash(ctx context.Context, h apikey.Hash) (store.Key, bool, error) {
	return oneKey(x.q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE key_hash = $1 AND revoked_at IS NULL`, h[:]))
}
