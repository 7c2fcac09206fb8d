package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// accountColumns select an account, Onboarded included; use with "FROM
// accounts a".
const accountColumns = `a.id, a.wallet_address, a.created_at,
	EXISTS (SELECT 1 FROM api_keys k WHERE k.account_id = a.id)`

// CreateAccount creates wallet's account and, when first is not nil, issues
// first as its live key, in one transaction, and returns the account and the
// KeyIssued event (none without first). espresso.ErrAccountExists if the wallet
// has an account.
func (s *Store) CreateAccount(ctx context.Context, wallet string, first *store.NewKey) (store.Account, []store.Event, error) {
	var (
		acct   store.Account
		events []store.Event
	)
	err := s.tx(ctx, "create account", pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) error {
		events = nil
		if first != nil {
			if _, err := tx.Exec(ctx, feedLock); err != nil {
				return err
			}
		}
		now := s.clock()
		var err error
		acct, err = insertAccount(ctx, tx, wallet, now)
		if err != nil || first == nil {
			return err
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
// espresso.ErrAccountExists (waiting, if another transaction is creating one,
// for it to end).
func insertAccount(ctx context.Context, tx pgx.Tx, wallet string, now time.Time) (store.Account, error) {
	acct := store.Account{ID: store.NewID(), WalletAddress: wallet, CreatedAt: now}
	tag, err := tx.Exec(ctx, `INSERT INTO accounts (id, wallet_address, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (wallet_address) DO NOTHING`, acct.ID, acct.WalletAddress, now)
	if err != nil {
		return store.Account{}, err
	}
	if tag.RowsAffected() == 0 {
		return store.Account{}, espresso.ErrAccountExists
	}
	return acct, nil
}

// AccountByWallet returns the account of wallet, or espresso.ErrUserNotFound.
func (s *Store) AccountByWallet(ctx context.Context, wallet string) (store.Account, error) {
	var acct store.Account
	err := s.run(ctx, "account by wallet", func(ctx context.Context) (err error) {
		acct, err = accountWhere(ctx, s.pool, "a.wallet_address = $1", wallet)
		return err
	})
	return acct, err
}

// AccountByID returns the account with id, or espresso.ErrUserNotFound.
func (s *Store) AccountByID(ctx context.Context, id string) (store.Account, error) {
	var acct store.Account
	err := s.run(ctx, "account by id", func(ctx context.Context) (err error) {
		acct, err = accountWhere(ctx, s.pool, "a.id = $1", id)
		return err
	})
	return acct, err
}

// accountWhere returns the account matching cond, or espresso.ErrUserNotFound.
func accountWhere(ctx context.Context, q querier, cond string, arg any) (store.Account, error) {
	var a store.Account
	err := q.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE `+cond, arg).
		Scan(&a.ID, &a.WalletAddress, &a.CreatedAt, &a.Onboarded)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, espresso.ErrUserNotFound
	}
	if err != nil {
		return store.Account{}, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, nil
}

// SignIn records nonce as used until expiresAt and returns wallet's account,
// creating it (without a key) if needed, in one transaction.
// store.ErrNonceUsed, with nothing changed, if the nonce is recorded already
// (a concurrent call with the same nonce waits for the first to end).
func (s *Store) SignIn(ctx context.Context, wallet, nonce string, expiresAt time.Time) (store.Account, bool, error) {
	var (
		acct    store.Account
		created bool
	)
	err := s.tx(ctx, "sign in", pgx.TxOptions{}, func(ctx context.Context, tx pgx.Tx) error {
		created = false
		now := s.clock()
		tag, err := tx.Exec(ctx, `INSERT INTO used_nonces (nonce, expires_at) VALUES ($1, $2)
			ON CONFLICT (nonce) DO NOTHING`, nonce, expiresAt.UTC().Truncate(time.Microsecond))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNonceUsed
		}
		acct, err = accountWhere(ctx, tx, "a.wallet_address = $1", wallet)
		if !errors.Is(err, espresso.ErrUserNotFound) {
			return err
		}
		acct, err = insertAccount(ctx, tx, wallet, now)
		if errors.Is(err, espresso.ErrAccountExists) {
			// Another transaction created it since we looked; this
			// statement's snapshot sees it.
			acct, err = accountWhere(ctx, tx, "a.wallet_address = $1", wallet)
			return err
		}
		created = err == nil
		return err
	})
	if err != nil {
		return store.Account{}, false, err
	}
	return acct, created, nil
}
