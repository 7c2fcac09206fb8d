package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/espresso-auth/espresso/store"
)

func (x executor) SpotAccount(ctx context.Context, accountID string) (store.SpotAccount, bool, error) {
	var (
		a                store.SpotAccount
		created, updated int64
	)
	err := x.tx.QueryRowContext(ctx, `SELECT account_id, encrypted_operation_key, operation_key_hash,
		is_script_operation_key, created_at, updated_at FROM spot_accounts WHERE account_id = ?`, accountID).
		Scan(&a.AccountID, &a.Encrypted, &a.Hash, &a.Script, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return store.SpotAccount{}, false, nil
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, err == nil, err
}

func (x executor) InsertSpotAccount(ctx context.Context, a store.SpotAccount) (bool, error) {
	return x.inserted(x.tx.ExecContext(ctx, `INSERT INTO spot_accounts (account_id, encrypted_operation_key,
		operation_key_hash, is_script_operation_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO NOTHING`,
		a.AccountID, a.Encrypted, a.Hash, a.Script, toMicros(a.CreatedAt), toMicros(a.UpdatedAt)))
}

func (x executor) SetEncryptedOperationKey(ctx context.Context, accountID, encrypted string, at time.Time) (bool, error) {
	n, err := x.affected(x.tx.ExecContext(ctx, `UPDATE spot_accounts SET encrypted_operation_key = ?, updated_at = ?
		WHERE account_id = ?`, encrypted, toMicros(at), accountID))
	return n > 0, err
}
