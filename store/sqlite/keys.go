package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// keyColumns are the api_keys columns scanKey reads, and the wallet of the
// key's account.
const keyColumns = `account_id, key_hash, masked, created_at, last_used_at, revoked_at,
	(SELECT wallet_address FROM accounts WHERE accounts.id = api_keys.account_id)`

func (x executor) LiveKey(ctx context.Context, accountID string) (store.Key, bool, error) {
	return x.oneKey(x.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE account_id = ? AND revoked_at IS NULL`, accountID))
}

func (x executor) RevokeLiveKey(ctx context.Context, accountID string, current *apikey.Hash, at time.Time) (store.Key, bool, error) {
	var presented any // NULL: any live key
	if current != nil {
		presented = current[:]
	}
	return x.oneKey(x.tx.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = ?1
		WHERE account_id = ?2 AND revoked_at IS NULL AND (?3 IS NULL OR key_hash = ?3)
		RETURNING `+keyColumns, toMicros(at), accountID, presented))
}

func (x executor) InsertKey(ctx context.Context, k store.Key) error {
	_, err := x.tx.ExecContext(ctx, `INSERT INTO api_keys (account_id, key_hash, masked, created_at) VALUES (?, ?, ?, ?)`,
		k.AccountID, k.Hash[:], k.Masked, toMicros(k.CreatedAt))
	return err
}

func (x executor) RecordUse(ctx context.Context, uses []store.Use) error {
	return x.raiseLastUses(ctx, `UPDATE api_keys SET last_used_at = ?1
		WHERE key_hash = ?2 AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?1)`,
		len(uses), func(i int) (time.Time, []byte) { return uses[i].At, uses[i].Hash[:] })
}

// raiseLastUses runs update, which raises one row's last use to ?1 (a time)
// where its hash is ?2, for each of the n uses that use returns, in order,
// with one prepared statement: key and session uses alike.
func (x executor) raiseLastUses(ctx context.Context, update string, n int, use func(i int) (time.Time, []byte)) error {
	stmt, err := x.tx.PrepareContext(ctx, update)
	if err != nil {
		return err
	}
	defer func() { _ = stmt.Close() }()
	for i := range n {
		at, hash := use(i)
		if _, err := stmt.ExecContext(ctx, toMicros(at), hash); err != nil {
			return err
		}
	}
	return nil
}

// oneKey scans the keyColumns of row, if there is one.
func (executor) oneKey(row *sql.Row) (store.Key, bool, error) {
	k, err := scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Key{}, false, nil
	}
	return k, err == nil, err
}

// scanKey scans the keyColumns of one row.
func scanKey(row interface{ Scan(...any) error }) (store.Key, error) {
	var (
		k                 store.Key
		hash              []byte
		created           int64
		lastUsed, revoked sql.NullInt64
	)
	if err := row.Scan(&k.AccountID, &hash, &k.Masked, &created, &lastUsed, &revoked, &k.WalletAddress); err != nil {
		return store.Key{}, err
	}
	if err := store.CopyHash(&k.Hash, hash); err != nil {
		return store.Key{}, err
	}
	k.CreatedAt = fromMicros(created)
	k.LastUsedAt = fromNullMicros(lastUsed)
	k.RevokedAt = fromNullMicros(revoked)
	return k, nil
}

func (x executor) LiveKeyByHash(ctx context.Context, h apikey.Hash) (store.Key, bool, error) {
	return x.oneKey(x.tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys
		WHERE key_hash = ? AND revoked_at IS NULL`, h[:]))
}
