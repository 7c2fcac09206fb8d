package keys

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
)

// Verify checks an X-API-KEY value against the replica and returns the
// key's description; it never reads storage for a malformed key. Errors:
// espresso.ErrUnauthorized for a malformed, unknown or revoked key; ErrStale
// (Unavailable) when the replica cannot be trusted. A well-formed key
// missing from the replica triggers one catch-up with the feed before it is
// refused, so a key issued a moment ago by another node is accepted; if the
// feed cannot be read, the answer is Unavailable rather than a verdict.
func (s *Service) Verify(ctx context.Context, raw string) (Info, error) {
	if !apikey.HasShape(raw, s.opts.Env) {
		return Info{}, espresso.ErrUnauthorized
	}
	// Look up first: every key in the replica was well-formed when issued,
	// so only a miss needs the alphabet and checksum check (half the cost
	// of this function when the key is valid).
	h := apikey.Sum(raw)
	e := s.rep.lookup(h)
	if e == nil {
		if _, err := apikey.Parse(raw, s.opts.Env); err != nil {
			return Info{}, espresso.ErrUnauthorized
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.feed.catchUp(ctx)
		cancel()
		if err != nil {
			// The key may have been issued elsewhere a moment ago: say we
			// could not tell, not that it is wrong.
			return Info{}, espresso.Wrap(espresso.Unavailable, err, "keys: reading the key feed for an unknown key")
		}
		if e = s.rep.lookup(h); e == nil {
			return Info{}, espresso.ErrUnauthorized
		}
	}
	now := s.opts.Clock.Now()
	if now.Sub(s.feed.lastSync()) > s.opts.MaxStaleness {
		return Info{}, ErrStale
	}
	before := raise(&e.lastUsed, now.UnixMicro())
	if e.dirty.CompareAndSwap(false, true) {
		s.usedMu.Lock()
		s.used = append(s.used, e)
		s.usedMu.Unlock()
	}
	return Info{
		AccountID:     e.owner[0],
		WalletAddress: e.owner[1],
		Hash:          h,
		Masked:        e.masked,
		CreatedAt:     fromMicros(e.createdAt),
		LastUsedAt:    fromMicros(before),
		owner:         &e.owner,
	}, nil
}
