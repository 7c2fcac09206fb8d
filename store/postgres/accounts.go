package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso/store"
)

// account returns the account matching cond, which compares a column of
// "a", the accounts table, with $1. The columns selected are store.Account's
// fields, in order; Onboarded is whether it has a spot account.
func (x *executor) account(ctx context.Context, cond string, arg any) (store.Account, bool, error) {
	rows, _ := x.q.Query(ctx, `SELECT a.id, a.wallet_address, a.created_at,
		EXISTS (SELECT 1 FROM spot_accounts s WHERE s.account_id = a.id)
		FROM accounts a WHERE `+cond, arg)
	a, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[store.Account])
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, false, nil
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, err == nil, err
}

func (x *executor) AccountByID(ctx context.Context, id string) (store.Account, bool, error) {
	return x.account(ctx, "a.id = $1", id)
}

func (x *executor) AccountByWallet(ctx context.Context, wallet string) (store.Account, bool, error) {
	return x.account(ctx, "a.wallet_address = $1", wallet)
}

// InsertAccount waits, if another transaction is inserting an account of
// the same wallet, for it to end (ON CONFLICT).
func (x *executor) InsertAccount(ctx context.Context, a store.Account) (bool, error) {
	tag, err := x.q.Exec(ctx, `INSERT INTO accounts (id, wallet_address, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (wallet_address) DO NOTHING`, a.ID, a.WalletAddress, a.CreatedAt)
	return tag.RowsAffected() > 0, err
}
