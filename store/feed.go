package store

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso/apikey"
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
// limit), ErrFeedRewound if the feed ends before `after` (the database was
// restored to an earlier state); either way the reader must start again
// from a snapshot.
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
		if len(evs) == 0 && after > 0 {
			last, err := r.LastSeq(ctx)
			if err != nil {
				return err
			}
			if last < after {
				return ErrFeedRewound
			}
		}
		events = evs
		return nil
	})
	if err != nil {
		return nil, err
	}
	return events, nil
}

// FeedHead returns the seq of the last event recorded (0 for a new
// database): a reader that starts from it and reads every event after it
// misses nothing committed later. With LiveKeys read afterwards, it is the
// start of a snapshot in pages; see LiveKeys.
func (s *Store) FeedHead(ctx context.Context) (int64, error) {
	var seq int64
	err := s.read(ctx, "feed head", func(ctx context.Context, r Reader) (err error) {
		seq, err = r.LastSeq(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// LiveKeys returns one page of a snapshot: up to limit live keys of the
// accounts whose id sorts after afterAccount, in the database's account id
// order (pass
// the last page's last AccountID to get the next page; "" for the first),
// as of the moment of the call. Each page is one call, bounded as every
// call is. Pages read after FeedHead returned seq, and every event after
// seq applied in order over them, give exactly the live keys, provided no
// page brings back a key whose revocation was already applied (the pages
// are not one consistent state; the events make them one). Fewer than
// limit keys: the last page.
func (s *Store) LiveKeys(ctx context.Context, afterAccount string, limit int) ([]Key, error) {
	var keys []Key
	err := s.read(ctx, "live keys", func(ctx context.Context, r Reader) (err error) {
		keys, err = r.LiveKeysAfter(ctx, afterAccount, max(limit, 1))
		return err
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// LiveKeyByHash returns the live key whose hash is h, read with one indexed
// lookup: ErrKeyNotLive if it is unknown or revoked.
func (s *Store) LiveKeyByHash(ctx context.Context, h apikey.Hash) (Key, error) {
	var (
		key   Key
		found bool
	)
	err := s.read(ctx, "key by hash", func(ctx context.Context, r Reader) (err error) {
		key, found, err = r.LiveKeyByHash(ctx, h)
		return err
	})
	switch {
	case err != nil:
		return Key{}, err
	case !found:
		return Key{}, ErrKeyNotLive
	}
	return key, nil
}

// FeedMark returns a mark of the key feed that costs no read of it: a mark
// equal to one taken earlier means that no event was committed in between
// (a different one means that some may have been). With sync, events
// committed before the call count; without, the mark may lag, which only
// matters for the later mark of a comparison. ok is false when the
// database cannot tell: SQLite's PRAGMA data_version on a connection of
// its own; PostgreSQL counts the notifications its Watch receives, and a
// sync waits for a round trip on the listening connection, which delivers
// every notification sent before it; ok is false while nothing listens.
// It is not reported to Options.Observe: it reads no table.
func (s *Store) FeedMark(ctx context.Context, sync bool) (mark uint64, ok bool) {
	if m, is := s.d.(Marker); is {
		return m.FeedMark(ctx, sync)
	}
	return 0, false
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
