package store

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso"
)

// SignedIn is what SignInSession did: the account (Created if this sign-in
// made it), the session it started and the event recorded for it.
type SignedIn struct {
	Account Account
	Created bool
	Session Session
	Events  []Event // one SessionStarted
}

// SignInSession is SignIn that also starts sess for the account, in the
// same transaction, and records its SessionStarted event: a session exists
// exactly when its sign-in committed. Errors as SignIn's.
func (s *Store) SignInSession(ctx context.Context, wallet, nonce string, expiresAt time.Time, onboard *OperationKey, sess NewSession) (SignedIn, error) {
	return s.signIn(ctx, wallet, nonce, expiresAt, onboard, &sess)
}

// EndSession ends the account's session with hash, if it is live (not
// ended, not expired), and returns it (EndedAt set) with its SessionEnded
// event; a zero Session and no events if the account had no such live
// session (ending it again is no error).
func (s *Store) EndSession(ctx context.Context, accountID string, hash SessionHash) (sess Session, events []Event, err error) {
	err = s.write(ctx, "end session", FeedTx, func(ctx context.Context, tx Tx, now time.Time) error {
		sess, events = Session{}, nil
		got, ended, err := tx.EndSession(ctx, accountID, hash, now)
		if err != nil || !ended {
			return err
		}
		ev, err := record(ctx, tx, Event{Kind: SessionEnded, Session: got}, now)
		sess, events = got, []Event{ev}
		return err
	})
	if err != nil {
		return Session{}, nil, err
	}
	return sess, events, nil
}

// EndSessions ends every live session of the account and returns them with
// their SessionEnded events (none if it had none).
// espresso.ErrUserNotFound if the account does not exist.
func (s *Store) EndSessions(ctx context.Context, accountID string) ([]Session, []Event, error) {
	var (
		ended  []Session
		events []Event
	)
	err := s.write(ctx, "end sessions", FeedTx, func(ctx context.Context, tx Tx, now time.Time) (err error) {
		if _, err := accountByID(ctx, tx, accountID); err != nil {
			return err
		}
		ended, events, err = endAll(ctx, tx, accountID, now)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ended, events, nil
}

// endAll ends the account's live sessions and records their events.
func endAll(ctx context.Context, tx Tx, accountID string, now time.Time) ([]Session, []Event, error) {
	ended, err := tx.EndAccountSessions(ctx, accountID, now)
	if err != nil {
		return nil, nil, err
	}
	events := make([]Event, 0, len(ended))
	for _, se := range ended {
		ev, err := record(ctx, tx, Event{Kind: SessionEnded, Session: se}, now)
		if err != nil {
			return nil, nil, err
		}
		events = append(events, ev)
	}
	return ended, events, nil
}

// Sessions returns the account's live sessions, newest first, last use
// included. espresso.ErrUserNotFound if the account does not exist.
func (s *Store) Sessions(ctx context.Context, accountID string) ([]Session, error) {
	var out []Session
	err := s.read(ctx, "sessions", func(ctx context.Context, r Reader) (err error) {
		if _, err := accountByID(ctx, r, accountID); err != nil {
			return err
		}
		out, err = r.AccountSessions(ctx, accountID, s.clock())
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LiveSessions returns a page of the live sessions: up to limit of them
// whose hashes sort after after (nil: from the first), in hash order (pass
// the last page's last Hash to get the next page). Fewer than limit: the
// last page. Each page is one call, bounded as every call is, so that
// what a node loads into memory at start and after losing the feed is
// never one call, however many sessions live. The pages are not one
// state of the database; the feed's session events, read from before the
// first page, make them one.
func (s *Store) LiveSessions(ctx context.Context, after *SessionHash, limit int) ([]Session, error) {
	var from []byte
	if after != nil {
		from = after[:]
	}
	var out []Session
	err := s.read(ctx, "live sessions", func(ctx context.Context, r Reader) (err error) {
		out, err = r.LiveSessionsAfter(ctx, s.clock(), from, max(limit, 1))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecordSessionUse raises the last use time of each session in uses to the
// time given (never lowers it), in one transaction. Unknown or ended
// sessions are ignored. Sessions are updated in hash order, so concurrent
// calls never deadlock.
func (s *Store) RecordSessionUse(ctx context.Context, uses map[SessionHash]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	ordered := inHashOrder(uses, func(h SessionHash, at time.Time) SessionUse { return SessionUse{Hash: h, At: at} })
	return s.write(ctx, "record session use", RowTx, func(ctx context.Context, tx Tx, _ time.Time) error {
		return tx.RecordSessionUse(ctx, ordered)
	})
}

// PruneSessions deletes the sessions that expired or ended before the given
// time: no token can use them any more. It returns how many it deleted.
func (s *Store) PruneSessions(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune sessions", RowTx, func(ctx context.Context, tx Tx, _ time.Time) (err error) {
		n, err = tx.DeleteSessionsBefore(ctx, stored(before))
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Deleted is what DeleteAccount erased.
type Deleted struct {
	Account Account
	Key     Key       // the key it revoked; zero if the account had no live key
	Ended   []Session // the sessions it ended
	Events  []Event   // KeyRevoked (if a key was live), then a SessionEnded per session
}

// DeleteAccount erases the account of wallet: in one transaction it revokes
// its live key and ends its live sessions, recording their events so that
// every node drops them, then deletes the account, its wallet address, its
// keys, sessions and spot account. The feed keeps the events (key hashes
// and masked keys, session hashes, never the wallet) until they are pruned.
// espresso.ErrUserNotFound if wallet has no account.
func (s *Store) DeleteAccount(ctx context.Context, wallet string) (Deleted, error) {
	var del Deleted
	err := s.write(ctx, "delete account", FeedTx, func(ctx context.Context, tx Tx, now time.Time) error {
		del = Deleted{}
		a, found, err := tx.AccountByWallet(ctx, wallet)
		if err = orMissing(found, err, espresso.ErrUserNotFound); err != nil {
			return err
		}
		del.Account = a
		k, revoked, err := tx.RevokeLiveKey(ctx, a.ID, nil, now)
		if err != nil {
			return err
		}
		if revoked {
			ev, err := record(ctx, tx, Event{Kind: KeyRevoked, Key: k}, now)
			if err != nil {
				return err
			}
			del.Key, del.Events = k, append(del.Events, ev)
		}
		ended, events, err := endAll(ctx, tx, a.ID, now)
		if err != nil {
			return err
		}
		del.Ended, del.Events = ended, append(del.Events, events...)
		deleted, err := tx.DeleteAccount(ctx, a.ID)
		return orMissing(deleted, err, espresso.ErrUserNotFound)
	})
	if err != nil {
		return Deleted{}, err
	}
	return del, nil
}
