package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

func (x *executor) SpotAccount(ctx context.Context, accountID string) (store.SpotAccount, bool, error) {
	var a store.SpotAccount
	err := x.q.QueryRow(ctx, `SELECT account_id, encrypted_operation_key, operation_key_hash,
		is_script_operation_key, created_at, updated_at FROM spot_accounts WHERE account_id = $1`, accountID).
		Scan(&a.AccountID, &a.Encrypted, &a.Hash, &a.Script, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.SpotAccount{}, false, nil
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err == nil, err
}

// InsertSpotAccount waits, if another transaction is inserting the same
// account's spot account, for it to end (ON CONFLICT).
func (x *executor) InsertSpotAccount(ctx context.Context, a store.SpotAccount) (bool, error) {
	tag, err := x.q.Exec(ctx, `INSERT INTO spot_accounts (account_id, encrypted_operation_key,
		operation_key_hash, is_script_operation_key, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (account_id) DO NOTHING`,
		a.AccountID, a.Encrypted, a.Hash, a.Script, a.CreatedAt, a.UpdatedAt)
	return tag.RowsAffected() > 0, err
}

func (x *executor) SetEncryptedOperationKey(ctx context.Context, accountID, encrypted string, at time.Time) (bool, error) {
	tag, err := x.q.Exec(ctx, `UPDATE spot_accounts SET encrypted_operation_key = $1, updated_at = $2
		WHERE account_id = $3`, encrypted, at, accountID)
	return tag.RowsAffected() > 0, err
}
