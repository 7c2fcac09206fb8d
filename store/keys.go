package store

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
)

// RotateKey revokes the account's live key and issues next in its place,
// atomically, and returns the new key and the events recorded: KeyRevoked
// (if a key was revoked), then KeyIssued. When current is not nil the
// rotation happens only if current is, at commit time, the account's live
// key; otherwise nothing changes and the error is ErrKeyNotLive. When
// current is nil any live key is revoked (an account with no live key just
// gets next). espresso.ErrUserNotFound if the account does not exist,
// whether or not current is set. Of concurrent rotations presenting the same
// current key, in any number of processes, exactly one succeeds.
func (s *Store) RotateKey(ctx context.Context, accountID string, current *apikey.Hash, next NewKey) (Key, []Event, error) {
	var (
		key    Key
		events []Event
	)
	err := s.write(ctx, "rotate key", FeedTx, func(ctx context.Context, tx Tx, now time.Time) error {
		var recorded []Event
		old, revoked, err := tx.RevokeLiveKey(ctx, accountID, current, now)
		if err != nil {
			return err
		}
		// The revoked key names its account and wallet, which is all the
		// new key needs: reading the account too costs a rotation a
		// statement. Without one, the account is read to tell a missing
		// account from one without the presented key.
		acct := Account{ID: old.AccountID, WalletAddress: old.WalletAddress}
		if !revoked {
			if acct, err = accountByID(ctx, tx, accountID); err != nil {
				return err
			}
			if current != nil {
				return ErrKeyNotLive
			}
		} else {
			ev, err := record(ctx, tx, Event{Kind: KeyRevoked, Key: old}, now)
			if err != nil {
				return err
			}
			recorded = append(recorded, ev)
		}
		ev, err := issue(ctx, tx, acct, next, now)
		if err != nil {
			return err
		}
		key, events = ev.Key, append(recorded, ev)
		return nil
	})
	if err != nil {
		return Key{}, nil, err
	}
	return key, events, nil
}

// RevokeKey revokes the account's live key and returns it (RevokedAt set)
// and the KeyRevoked event. When current is not nil it must be that key, or
// nothing changes and the error is ErrKeyNotLive (also for an unknown
// account); when nil, espresso.ErrNoKey if the account has no live key,
// espresso.ErrUserNotFound if it does not exist.
func (s *Store) RevokeKey(ctx context.Context, accountID string, current *apikey.Hash) (Key, []Event, error) {
	var (
		key    Key
		events []Event
	)
	err := s.write(ctx, "revoke key", FeedTx, func(ctx context.Context, tx Tx, now time.Time) error {
		old, revoked, err := tx.RevokeLiveKey(ctx, accountID, current, now)
		switch {
		case err != nil:
			return err
		case !revoked && current != nil:
			return ErrKeyNotLive
		case !revoked:
			if _, err := accountByID(ctx, tx, accountID); err != nil {
				return err
			}
			return espresso.ErrNoKey
		}
		ev, err := record(ctx, tx, Event{Kind: KeyRevoked, Key: old}, now)
		if err != nil {
			return err
		}
		key, events = old, []Event{ev}
		return nil
	})
	if err != nil {
		return Key{}, nil, err
	}
	return key, events, nil
}

// issue stores nk as the account's live key, created at now, and records
// its KeyIssued event, which it returns.
func issue(ctx context.Context, tx Tx, a Account, nk NewKey, now time.Time) (Event, error) {
	k := Key{AccountID: a.ID, WalletAddress: a.WalletAddress, Hash: nk.Hash, Masked: nk.Masked, CreatedAt: now}
	if err := tx.InsertKey(ctx, k); err != nil {
		return Event{}, err
	}
	return record(ctx, tx, Event{Kind: KeyIssued, Key: k}, now)
}

// record appends ev, a key's or a session's, to the key feed, recorded at
// now, and returns it with its seq. Events do not carry LastUsedAt.
func record(ctx context.Context, tx Tx, ev Event, now time.Time) (Event, error) {
	ev.Key.LastUsedAt, ev.Session.LastUsedAt = time.Time{}, time.Time{}
	seq, err := tx.AppendEvent(ctx, ev, now)
	ev.Seq = seq
	return ev, err
}

// LiveKey returns the account's live key: espresso.ErrNoKey if it has
// none, espresso.ErrUserNotFound if the account does not exist.
func (s *Store) LiveKey(ctx context.Context, accountID string) (Key, error) {
	var key Key
	err := s.read(ctx, "live key", func(ctx context.Context, r Reader) error {
		k, found, err := r.LiveKey(ctx, accountID)
		key = k
		if err != nil || found {
			return err
		}
		if _, err := accountByID(ctx, r, accountID); err != nil {
			return err
		}
		return espresso.ErrNoKey
	})
	if err != nil {
		return Key{}, err
	}
	return key, nil
}

// RecordUse raises the last use time of each key in uses to the time given
// (never lowers it), in one transaction. Unknown or revoked keys are
// ignored. Concurrent calls never deadlock: keys are updated in hash order.
func (s *Store) RecordUse(ctx context.Context, uses map[apikey.Hash]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	ordered := inHashOrder(uses, func(h apikey.Hash, at time.Time) Use { return Use{Hash: h, At: at} })
	return s.write(ctx, "record use", RowTx, func(ctx context.Context, tx Tx, _ time.Time) error {
		return tx.RecordUse(ctx, ordered)
	})
}

// inHashOrder returns uses, their times as stored, as mk makes them, in
// hash order: writers that update rows in one order never deadlock.
func inHashOrder[H ~[32]byte, U any](uses map[H]time.Time, mk func(H, time.Time) U) []U {
	hashes := slices.SortedFunc(maps.Keys(uses), func(a, b H) int { return bytes.Compare(a[:], b[:]) })
	out := make([]U, len(hashes))
	for i, h := range hashes {
		out[i] = mk(h, stored(uses[h]))
	}
	return out
}
