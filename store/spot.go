package store

import (
	"context"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
)

// Spot accounts are read from the database on every call, by every node:
// bots read them at start-up, not on every request, so there is no replica
// to keep in step, and a change committed by one node is read by every
// other at once.

// SpotAccount returns the account's spot account: espresso.ErrNoSpotAccount
// if it has none, espresso.ErrUserNotFound if the account does not exist.
func (s *Store) SpotAccount(ctx context.Context, accountID string) (SpotAccount, error) {
	var spot SpotAccount
	err := s.read(ctx, "spot account", func(ctx context.Context, r Reader) error {
		a, found, err := r.SpotAccount(ctx, accountID)
		spot = a
		if err != nil || found {
			return err
		}
		if _, err := accountByID(ctx, r, accountID); err != nil {
			return err
		}
		return espresso.ErrNoSpotAccount
	})
	if err != nil {
		return SpotAccount{}, err
	}
	return spot, nil
}

// CreateSpotAccount gives the account its spot account, holding k, and
// returns it. espresso.ErrSpotAccountExists, with nothing changed, if the
// account has one (of concurrent calls for one account, in any number of
// processes, exactly one succeeds); espresso.ErrUserNotFound if the
// account does not exist.
func (s *Store) CreateSpotAccount(ctx context.Context, accountID string, k OperationKey) (SpotAccount, error) {
	var spot SpotAccount
	err := s.write(ctx, "create spot account", RowTx, func(ctx context.Context, tx Tx, now time.Time) error {
		if _, err := accountByID(ctx, tx, accountID); err != nil {
			return err
		}
		a, inserted, err := insertSpotAccount(ctx, tx, accountID, k, now)
		if err != nil {
			return err
		}
		if !inserted {
			return espresso.ErrSpotAccountExists
		}
		spot = a
		return nil
	})
	if err != nil {
		return SpotAccount{}, err
	}
	return spot, nil
}

// insertSpotAccount stores a spot account holding k for the account, which
// must exist, unless it has one.
func insertSpotAccount(ctx context.Context, tx Tx, accountID string, k OperationKey, now time.Time) (SpotAccount, bool, error) {
	a := SpotAccount{AccountID: accountID, OperationKey: k, CreatedAt: now, UpdatedAt: now}
	inserted, err := tx.InsertSpotAccount(ctx, a)
	return a, inserted, err
}

// ReencryptOperationKey replaces the blob of the account's operation key
// with encrypted, the same key sealed anew (a password change): its hash
// and kind do not change. It returns the spot account as updated.
// espresso.ErrNoSpotAccount if the account has none,
// espresso.ErrUserNotFound if it does not exist.
func (s *Store) ReencryptOperationKey(ctx context.Context, accountID, encrypted string) (SpotAccount, error) {
	var spot SpotAccount
	err := s.write(ctx, "re-encrypt operation key", RowTx, func(ctx context.Context, tx Tx, now time.Time) error {
		updated, err := tx.SetEncryptedOperationKey(ctx, accountID, encrypted, now)
		if err != nil {
			return err
		}
		if !updated {
			if _, err := accountByID(ctx, tx, accountID); err != nil {
				return err
			}
			return espresso.ErrNoSpotAccount
		}
		a, found, err := tx.SpotAccount(ctx, accountID)
		spot = a
		return orMissing(found, err, errors.New("the spot account was updated but cannot be read"))
	})
	if err != nil {
		return SpotAccount{}, err
	}
	return spot, nil
}
