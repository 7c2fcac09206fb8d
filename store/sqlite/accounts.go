package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/espresso-auth/espresso/store"
)

// accountQuery selects an account, Onboarded (it has a spot account)
// included, by a condition on "a", the accounts table.
const accountQuery = `SELECT a.id, a.wallet_address, a.created_at,
	EXISTS (SELECT 1 FROM spot_accounts s WHERE s.account_id = a.id)
	FROM accounts a WHERE `

func (x executor) AccountByID(ctx context.Context, id string) (store.Account, bool, error) {
	return x.account(ctx, "a.id = ?", id)
}

func (x executor) AccountByWallet(ctx context.Context, wallet string) (store.Account, bool, error) {
	return x.account(ctx, "a.wallet_address = ?", wallet)
}

func (x executor) account(ctx context.Context, cond string, arg any) (store.Account, bool, error) {
	var (
		a       store.Account
		created int64
	)
	err := x.tx.QueryRowContext(ctx, accountQuery+cond, arg).Scan(&a.ID, &a.WalletAddress, &created, &a.Onboarded)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, false, nil
	}
	a.CreatedAt = fromMicros(created)
	return a, err == nil, err
}

func (x executor) InsertAccount(ctx context.Context, a store.Account) (bool, error) {
	return x.inserted(x.tx.ExecContext(ctx, `INSERT INTO accounts (id, wallet_address, created_at) VALUES (?, ?, ?)
		ON CONFLICT (wallet_address) DO NOTHING`, a.ID, a.WalletAddress, toMicros(a.CreatedAt)))
}

// inserted reports whether an INSERT … ON CONFLICT DO NOTHING inserted its
// row.
func (executor) inserted(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// affected returns how many rows a statement changed.
func (executor) affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
