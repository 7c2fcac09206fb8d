package store

import (
	"context"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
)

// CreateAccount creates the account of wallet and, when first is not nil,
// issues first as the account's live key, in one transaction. It returns
// the account (not onboarded: it has no operation key yet) and the events
// it recorded (one KeyIssued with first, none without). espresso.ErrAccountExists, with nothing changed, if wallet
// already has an account.
func (s *Store) CreateAccount(ctx context.Context, wallet string, first *NewKey) (Account, []Event, error) {
	kind := RowTx
	if first != nil {
		kind = FeedTx
	}
	var (
		acct   Account
		events []Event
	)
	err := s.write(ctx, "create account", kind, func(ctx context.Context, tx Tx, now time.Time) error {
		a, err := insertAccount(ctx, tx, wallet, now)
		if err != nil || first == nil {
			acct, events = a, nil
			return err
		}
		ev, err := issue(ctx, tx, a, *first, now)
		if err != nil {
			return err
		}
		acct, events = a, []Event{ev}
		return nil
	})
	if err != nil {
		return Account{}, nil, err
	}
	return acct, events, nil
}

// insertAccount stores a new account of wallet, or fails with
// espresso.ErrAccountExists.
func insertAccount(ctx context.Context, tx Tx, wallet string, now time.Time) (Account, error) {
	a := Account{ID: NewID(), WalletAddress: wallet, CreatedAt: now}
	inserted, err := tx.InsertAccount(ctx, a)
	if err != nil {
		return Account{}, err
	}
	if !inserted {
		return Account{}, espresso.ErrAccountExists
	}
	return a, nil
}

// AccountByWallet returns the account of wallet, or
// espresso.ErrUserNotFound.
func (s *Store) AccountByWallet(ctx context.Context, wallet string) (Account, error) {
	var acct Account
	err := s.read(ctx, "account by wallet", func(ctx context.Context, r Reader) error {
		a, found, err := r.AccountByWallet(ctx, wallet)
		acct = a
		return orMissing(found, err, espresso.ErrUserNotFound)
	})
	if err != nil {
		return Account{}, err
	}
	return acct, nil
}

// AccountByID returns the account with id, or espresso.ErrUserNotFound.
func (s *Store) AccountByID(ctx context.Context, id string) (Account, error) {
	var acct Account
	err := s.read(ctx, "account by id", func(ctx context.Context, r Reader) (err error) {
		acct, err = accountByID(ctx, r, id)
		return err
	})
	if err != nil {
		return Account{}, err
	}
	return acct, nil
}

// accountByID returns the account with id, or espresso.ErrUserNotFound. It
// is how every operation checks that an account exists.
func accountByID(ctx context.Context, r Reader, id string) (Account, error) {
	a, found, err := r.AccountByID(ctx, id)
	return a, orMissing(found, err, espresso.ErrUserNotFound)
}

// SignIn marks nonce as used (it stays recorded until expiresAt) and
// returns the account of wallet, creating it without a key if it does not
// exist; created says which. With onboard set, the account also gets its
// spot account, holding onboard, if it has none yet (its first onboarding;
// a later one changes nothing). One transaction: of concurrent calls with
// the same nonce exactly one succeeds, the others get ErrNonceUsed and
// change nothing; of concurrent calls for one new wallet exactly one
// creates the account and the others return it. It starts no session: see
// SignInSession.
func (s *Store) SignIn(ctx context.Context, wallet, nonce string, expiresAt time.Time, onboard *OperationKey) (acct Account, created bool, err error) {
	in, err := s.signIn(ctx, wallet, nonce, expiresAt, onboard, nil)
	return in.Account, in.Created, err
}

// signIn is SignIn and SignInSession: with sess set it also starts that
// session, recording its SessionStarted event, in the same transaction.
func (s *Store) signIn(ctx context.Context, wallet, nonce string, expiresAt time.Time, onboard *OperationKey, sess *NewSession) (SignedIn, error) {
	kind := RowTx
	if sess != nil {
		kind = FeedTx
	}
	var in SignedIn
	err := s.write(ctx, "sign in", kind, func(ctx context.Context, tx Tx, now time.Time) error {
		in = SignedIn{}
		recorded, err := tx.UseNonce(ctx, nonce, stored(expiresAt))
		if err != nil {
			return err
		}
		if !recorded {
			return ErrNonceUsed
		}
		a, isNew, err := accountOfWallet(ctx, tx, wallet, now)
		if err != nil {
			return err
		}
		if onboard != nil && !a.Onboarded {
			if _, _, err := insertSpotAccount(ctx, tx, a.ID, *onboard, now); err != nil {
				return err
			}
			// Inserted, or another transaction gave it one meanwhile:
			// either way the account has an operation key now.
			a.Onboarded = true
		}
		in.Account, in.Created = a, isNew
		if sess == nil {
			return nil
		}
		in.Session = Session{Hash: sess.Hash, AccountID: a.ID, CreatedAt: now, ExpiresAt: stored(sess.ExpiresAt)}
		if err := tx.InsertSession(ctx, in.Session); err != nil {
			return err
		}
		ev, err := record(ctx, tx, Event{Kind: SessionStarted, Session: in.Session}, now)
		in.Events = []Event{ev}
		return err
	})
	if err != nil {
		return SignedIn{}, err
	}
	return in, nil
}

// accountOfWallet returns the account of wallet, creating it (isNew) if it
// does not exist.
func accountOfWallet(ctx context.Context, tx Tx, wallet string, now time.Time) (a Account, isNew bool, err error) {
	a, found, err := tx.AccountByWallet(ctx, wallet)
	if err != nil || found {
		return a, false, err
	}
	a, err = insertAccount(ctx, tx, wallet, now)
	if err == nil {
		return a, true, nil
	}
	if !errors.Is(err, espresso.ErrAccountExists) {
		return Account{}, false, err
	}
	// Another transaction created it since we looked, and committed
	// (InsertAccount waited for it): a new read sees it.
	a, found, err = tx.AccountByWallet(ctx, wallet)
	return a, false, orMissing(found, err, errors.New("the wallet's account exists but cannot be read"))
}

// orMissing returns err, or missing when a primitive succeeded but found
// nothing.
func orMissing(found bool, err, missing error) error {
	if err == nil && !found {
		return missing
	}
	return err
}
