// Package spot is the accounts' trading side: the spot account that holds
// each account's operation key, the trading key its bots load at start-up
// and decrypt locally with their owner's password. The server keeps the
// key sealed (see package opkey) and checks only its form; it can neither
// open it nor tell one key from another, so an account's key, once stored,
// is only ever re-encrypted, never replaced.
//
// Every method reads or writes the database directly: bots read the key at
// start-up, not on every request, so there is no replica, and a change
// committed through one server is read by every other at once.
package spot

import (
	"context"
	"errors"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/opkey"
	"github.com/espresso-auth/espresso/store"
)

// Store is what the service needs from storage; every storage backend
// provides it. Its methods keep the meaning and errors documented in
// package store.
type Store interface {
	SpotAccount(ctx context.Context, accountID string) (store.SpotAccount, error)
	CreateSpotAccount(ctx context.Context, accountID string, k store.OperationKey) (store.SpotAccount, error)
	ReencryptOperationKey(ctx context.Context, accountID, encrypted string) (store.SpotAccount, error)
}

// The reasons an operation key is refused, both espresso.Invalid.
var (
	ErrInvalidBlob = espresso.Wrap(espresso.Invalid, opkey.ErrInvalidBlob, "spot")
	ErrInvalidHash = espresso.Wrap(espresso.Invalid, opkey.ErrInvalidHash, "spot")
)

// CheckOperationKey checks that k's blob and hash have the form the
// platform's clients give them (opkey.ParseBlob, opkey.CheckHash):
// ErrInvalidBlob or ErrInvalidHash otherwise. Every way into storage calls
// it first, so that a refused key leaves no trace.
func CheckOperationKey(k store.OperationKey) error {
	if err := checkBlob(k.Encrypted); err != nil {
		return err
	}
	if opkey.CheckHash(k.Hash) != nil {
		return ErrInvalidHash
	}
	return nil
}

func checkBlob(encrypted string) error {
	if _, err := opkey.ParseBlob(encrypted); err != nil {
		return ErrInvalidBlob
	}
	return nil
}

// Service reads and writes spot accounts.
type Service struct{ st Store }

// New returns a Service over st. It does no I/O.
func New(st Store) *Service { return &Service{st: st} }

// OperationKey returns the account's operation key, for its bots:
// espresso.ErrNoOperationKey if it has none (it has not been onboarded),
// espresso.ErrUserNotFound if the account does not exist.
func (s *Service) OperationKey(ctx context.Context, accountID string) (store.OperationKey, error) {
	a, err := s.st.SpotAccount(ctx, accountID)
	if errors.Is(err, espresso.ErrNoSpotAccount) {
		return store.OperationKey{}, espresso.ErrNoOperationKey
	}
	if err != nil {
		return store.OperationKey{}, err
	}
	return a.OperationKey, nil
}

// Get returns the account's spot account: espresso.ErrNoSpotAccount if it
// has none, espresso.ErrUserNotFound if the account does not exist.
func (s *Service) Get(ctx context.Context, accountID string) (store.SpotAccount, error) {
	return s.st.SpotAccount(ctx, accountID)
}

// Create gives the account its spot account, holding k, after checking k
// (CheckOperationKey). espresso.ErrSpotAccountExists, with nothing changed,
// if it has one already; espresso.ErrUserNotFound if the account does not
// exist.
func (s *Service) Create(ctx context.Context, accountID string, k store.OperationKey) (store.SpotAccount, error) {
	if err := CheckOperationKey(k); err != nil {
		return store.SpotAccount{}, err
	}
	return s.st.CreateSpotAccount(ctx, accountID, k)
}

// Reencrypt replaces the blob of the account's operation key with
// encrypted, after checking it: the same key sealed with a new password.
// The hash and kind stay. ErrInvalidBlob, espresso.ErrNoSpotAccount,
// espresso.ErrUserNotFound.
func (s *Service) Reencrypt(ctx context.Context, accountID, encrypted string) (store.SpotAccount, error) {
	if err := checkBlob(encrypted); err != nil {
		return store.SpotAccount{}, err
	}
	return s.st.ReencryptOperationKey(ctx, accountID, encrypted)
}
