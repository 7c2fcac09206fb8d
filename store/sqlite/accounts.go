package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// accountColumns select an account, Onboarded included; use with "FROM
// accounts a".
const accountColumns = `a.id, a.wallet_address, a.created_at,
	EXISTS (SELECT 1 FROM api_keys k WHERE k.account_id = a.id)`

// CreateAccount creates wallet's account and, when first is not nil, issues
// first as its live key, in one transaction. espresso.ErrAccountExists if the
// wallet has an account.
func (s *Store) CreateAccount(ctx context.Context, wallet string, first *store.NewKey) (store.Account, []store.Event, error) {
	var (
		acct   store.Account
		events []store.Event
	)
	err := s.write(ctx, "create account", func(tx *sql.Tx, now time.Time) error {
		var err error
		acct, err = insertAccount(ctx, tx, wallet, now)
		if err != nil {
			return err
		}
		if first == nil {
			return nil
		}
		k, err := insertKey(ctx, tx, acct.ID, *first, now)
		if err != nil {
			return err
		}
		ev, err := recordEvent(ctx, tx, store.KeyIssued, k, now)
		if err != nil {
			return err
		}
		acct.Onboarded = true
		events = []store.Event{ev}
		return nil
	})
	if err != nil {
		return store.Account{}, nil, err
	}
	return acct, events, nil
}

// insertAccount creates a new account of wallet, or fails with
// espresso.ErrAccountExists.
func insertAccount(ctx context.Context, tx *sql.Tx, wallet string, now time.Time) (store.Account, error) {
	acct := store.Account{ID: store.NewID(), WalletAddress: wallet, CreatedAt: now}
	res, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, wallet_address, created_at) VALUES (?, ?, ?)
		ON CONFLICT (wallet_address) DO NOTHING`, acct.ID, acct.WalletAddress, toMicros(now))
	if err != nil {
		return store.Account{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return store.Account{}, err
	} else if n == 0 {
		return store.Account{}, espresso.ErrAccountExists
	}
	return acct, nil
}

// AccountByWallet returns the account of wallet, or espresso.ErrUserNotFound.
func (s *Store) AccountByWallet(ctx context.Context, wallet string) (store.Account, error) {
	acct, err := accountWhere(ctx, s.r, "a.wallet_address = ?", wallet)
	return acct, classify("account by wallet", err)
}

// AccountByID returns the account with id, or espresso.ErrUserNotFound.
func (s *Store) AccountByID(ctx context.Context, id string) (store.Account, error) {
	acct, err := accountWhere(ctx, s.r, "a.id = ?", id)
	return acct, classify("account by id", err)
}

// accountWhere returns the account matching cond, or espresso.ErrUserNotFound.
func accountWhere(ctx context.Context, q querier, cond string, arg any) (store.Account, error) {
	var (
		a       store.Account
		created int64
	)
	err := q.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE `+cond, arg).
		Scan(&a.ID, &a.WalletAddress, &created, &a.Onboarded)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, espresso.ErrUserNotFound
	}
	if err != nil {
		return store.Account{}, err
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// SignIn records nonce as used until expiresAt and returns wallet's account,
// creating it (without a key) if needed, in one transaction.
// store.ErrNonceUsed, with nothing changed, if the nonce is recorded already.
func (s *Store) SignIn(ctx context.Context, wallet, nonce string, expiresAt time.Time) (store.Account, bool, error) {
	var (
		acct    store.Account
		created bool
	)
	err := s.write(ctx, "sign in", func(tx *sql.Tx, now time.Time) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?)
			ON CONFLICT (nonce) DO NOTHING`, nonce, toMicros(expiresAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNonceUsed
		}
		acct, err = accountWhere(ctx, tx, "a.wallet_address = ?", wallet)
		if !errors.Is(err, espresso.ErrUserNotFound) {
			return err
		}
		acct, err = insertAccount(ctx, tx, wallet, now)
		created = err == nil
		return err
	})
	if err != nil {
		return store.Account{}, false, err
	}
	return acct, created, nil
}
