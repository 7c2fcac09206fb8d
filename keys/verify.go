package keys

import (
	"context"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Verify checks an X-API-KEY value against the replica and returns the
// key's description; it never reads storage for a malformed key. Errors:
// espresso.ErrUnauthorized for a malformed, unknown or revoked key; ErrStale
// (Unavailable) when the replica cannot be trusted. A well-formed key
// missing from the replica is looked up before it is refused, so that a key
// issued a moment ago by another node is accepted: while the replica is
// still loading, with one indexed read of storage; once it is loaded, by
// reading the feed, unless the store tells (see store.Store.FeedMark) that
// nothing has been committed since the replica last read it. If storage
// cannot be read, the answer is Unavailable rather than a verdict.
func (s *Service) Verify(ctx context.Context, raw string) (Info, error) {
	if !apikey.HasShape(raw, s.opts.Env) {
		return Info{}, espresso.ErrUnauthorized
	}
	now := s.opts.Clock.Now()
	stale := now.Sub(s.feed.lastSync()) > s.opts.MaxStaleness
	// Look up first: every key in the replica was well-formed when issued,
	// so only a miss needs the alphabet and checksum check (half the cost
	// of this function when the key is valid).
	h := apikey.Sum(raw)
	v, found, complete := s.rep.use(&h, now, !stale)
	if !found {
		if _, err := apikey.Parse(raw, s.opts.Env); err != nil {
			return Info{}, espresso.ErrUnauthorized
		}
		if !complete {
			return s.lookUp(ctx, h, now)
		}
		var err error
		if v, found, err = s.afterCatchUp(ctx, h, now, !stale); err != nil {
			// The key may have been issued elsewhere a moment ago: say we
			// could not tell, not that it is wrong.
			return Info{}, espresso.Wrap(espresso.Unavailable, err, "keys: reading the key feed for an unknown key")
		}
		if !found {
			return Info{}, espresso.ErrUnauthorized
		}
	}
	if stale {
		return Info{}, ErrStale
	}
	return Info{
		AccountID:     v.owner.pair[0],
		WalletAddress: v.owner.pair[1],
		Hash:          h,
		Masked:        v.owner.mask,
		CreatedAt:     v.created,
		LastUsedAt:    v.before,
		owner:         &v.owner.pair,
	}, nil
}

// afterCatchUp looks h up again once the replica has read the feed, or,
// if the store says nothing has changed since the start of a pull that
// reached the feed's head, once that pull's events are applied: they
// are by the time its mark can be compared, but the first look may have
// come before.
func (s *Service) afterCatchUp(ctx context.Context, h apikey.Hash, now time.Time, mark bool) (view, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // for both: a hung database must not double it
	defer cancel()
	if !s.feed.unchanged(ctx) {
		if err := s.feed.catchUp(ctx); err != nil {
			return view{}, false, err
		}
	}
	v, found, _ := s.rep.use(&h, now, mark)
	return v, found, nil
}

// lookUp answers for a key that a replica still loading does not hold:
// storage is the truth, read with one indexed lookup. The use is kept
// aside until the next flush writes it, and the previous use reported is
// the later of storage's and this node's.
func (s *Service) lookUp(ctx context.Context, h apikey.Hash, now time.Time) (Info, error) {
	k, err := s.st.LiveKeyByHash(ctx, h)
	switch {
	case errors.Is(err, store.ErrKeyNotLive):
		return Info{}, espresso.ErrUnauthorized
	case err != nil:
		return Info{}, espresso.Wrap(espresso.Unavailable, err, "keys: looking up a key not loaded yet")
	}
	info := infoOf(k)
	if before := s.rep.usePending(h, now); before.After(info.LastUsedAt) {
		info.LastUsedAt = before
	}
	return info, nil
}
