package store

import (
	"context"
	"time"
)

// Snapshot returns every live key and the Seq of the last event they
// reflect (0 for a new database), read from one consistent state: the keys
// are exactly those that the events up to that Seq leave live.
func (s *Store) Snapshot(ctx context.Context) (keys []Key, seq int64, err error) {
	err = s.read(ctx, "snapshot", func(ctx context.Context, r Reader) (err error) {
		keys, seq, err = r.Snapshot(ctx)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return keys, seq, nil
}

// Events returns up to limit events with Seq > after, in Seq order, none if
// after is the last or limit < 1. Events never carry LastUsedAt.
// ErrFeedTruncated if events after `after` have been pruned (whatever the
// limit), in which case the reader must start again from a Snapshot.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]Event, error) {
	var events []Event
	err := s.read(ctx, "events", func(ctx context.Context, r Reader) error {
		prunedThrough, evs, err := r.Events(ctx, after, max(limit, 0))
		if err != nil {
			return err
		}
		if after < prunedThrough {
			return ErrFeedTruncated
		}
		events = evs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// PruneEvents deletes the oldest events, up to the first one recorded at
// or after before, so that what remains is always the newest part of the
// feed with no holes (with a clock that never goes back, that is every
// event recorded before it); later Events calls that would need them get
// ErrFeedTruncated. It also deletes the keys revoked before then, which
// only the pruned events still told of, so that the database's size
// follows the live keys, not their history. It returns how many events it
// deleted.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune events", RowTx, func(ctx context.Context, tx Tx, _ time.Time) error {
		cut, err := tx.FirstSeqSince(ctx, stored(before))
		if err != nil {
			return err
		}
		if n, err = tx.DeleteEventsBefore(ctx, cut); err != nil {
			return err
		}
		_, err = tx.DeleteKeysRevokedBefore(ctx, stored(before))
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// PruneNonces forgets used nonces whose expiry is before the given time:
// they can no longer be presented anyway. It returns how many it deleted.
func (s *Store) PruneNonces(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "prune nonces", RowTx, func(ctx context.Context, tx Tx, _ time.Time) (err error) {
		n, err = tx.DeleteNoncesBefore(ctx, stored(before))
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
