package auth

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Principal is the account a request acts for, and the key it presented.
type Principal struct {
	AccountID string
	Key       KeyInfo // zero when the request presented no API key
}

// KeyInfo describes an API key without revealing it.
type KeyInfo struct {
	Hash       apikey.Hash
	Masked     string
	CreatedAt  time.Time
	LastUsedAt time.Time // the use before the current request; zero: none
}

// HasKey reports whether the principal presented an API key.
func (p Principal) HasKey() bool { return p.Key.Masked != "" }

// Presented returns the hash of the key the principal presented, or nil if
// it presented none: the current key that Rotate and Revoke must find live.
func (p Principal) Presented() *apikey.Hash {
	if !p.HasKey() {
		return nil
	}
	return &p.Key.Hash
}

// VerifyKey checks an X-API-KEY value against the replica; it never reads
// storage for a malformed key. It returns ErrUnauthorized for a malformed,
// unknown or revoked key, and ErrStale (Unavailable) when the replica cannot
// be trusted. A well-formed key missing from the replica triggers one
// catch-up with the feed before it is refused, so a key issued a moment ago
// by another node is accepted; if the feed cannot be read, the answer is
// Unavailable rather than a verdict.
func (s *Service) VerifyKey(ctx context.Context, raw string) (Principal, error) {
	if !apikey.HasShape(raw, s.opts.Env) {
		return Principal{}, ErrUnauthorized
	}
	// Look up first: every key in the replica was well-formed when issued,
	// so only a miss needs the alphabet and checksum check (half the cost
	// of this function when the key is valid).
	h := apikey.Sum(raw)
	e := s.rep.lookup(h)
	if e == nil {
		if _, err := apikey.Parse(raw, s.opts.Env); err != nil {
			return Principal{}, ErrUnauthorized
		}
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.feed.catchUp(ctx)
		cancel()
		if err != nil {
			// The key may have been issued elsewhere a moment ago: say we
			// could not tell, not that it is wrong.
			return Principal{}, espresso.Wrap(espresso.Unavailable, err, "auth: reading the key feed for an unknown key")
		}
		if e = s.rep.lookup(h); e == nil {
			return Principal{}, ErrUnauthorized
		}
	}
	now := s.opts.Now()
	if now.Sub(s.feed.lastSync()) > s.opts.MaxStaleness {
		return Principal{}, ErrStale
	}
	before := raise(&e.lastUsed, now.UnixMicro())
	if e.dirty.CompareAndSwap(false, true) {
		s.usedMu.Lock()
		s.used = append(s.used, e)
		s.usedMu.Unlock()
	}
	return Principal{AccountID: e.key.AccountID, Key: KeyInfo{
		Hash:       h,
		Masked:     e.key.Masked,
		CreatedAt:  e.key.CreatedAt,
		LastUsedAt: fromMicros(before),
	}}, nil
}

// Issued is a freshly issued key: the only place its text exists.
type Issued struct {
	Key       apikey.Key
	AccountID string
	CreatedAt time.Time
}

// Rotate issues a new key for the account and revokes its live key, in one
// commit. With current set, the rotation happens only if current is still
// the live key (of concurrent rotations presenting it, one wins; the others
// get ErrUnauthorized). With current nil any live key is replaced. On return
// this node already refuses the old key and accepts the new one.
func (s *Service) Rotate(ctx context.Context, accountID string, current *apikey.Hash) (Issued, error) {
	issued, events, err := RotateKey(ctx, s.st, s.opts.Env, accountID, current)
	if err != nil {
		return Issued{}, err
	}
	s.rep.applyLocal(events)
	return issued, nil
}

// Revoke revokes the account's live key (which must be current, if set). On
// return this node already refuses it. Errors: ErrUnauthorized if current is
// no longer live, espresso.ErrNoKey if the account has no live key.
func (s *Service) Revoke(ctx context.Context, accountID string, current *apikey.Hash) (store.Key, error) {
	revoked, events, err := RevokeKey(ctx, s.st, accountID, current)
	if err != nil {
		return store.Key{}, err
	}
	s.rep.applyLocal(events)
	return revoked, nil
}

// RotateKey is Service.Rotate for a process that keeps no replica (the
// operator CLI): servers sharing st see the change through the key feed.
// It also returns the events recorded.
func RotateKey(ctx context.Context, st *store.Store, env apikey.Env, accountID string, current *apikey.Hash) (Issued, []store.Event, error) {
	key, next, err := generate(env)
	if err != nil {
		return Issued{}, nil, err
	}
	stored, events, err := st.RotateKey(ctx, accountID, current, next)
	if err != nil {
		return Issued{}, nil, unauthorized(err)
	}
	return Issued{Key: key, AccountID: accountID, CreatedAt: stored.CreatedAt}, events, nil
}

// RevokeKey is Service.Revoke for a process that keeps no replica.
func RevokeKey(ctx context.Context, st *store.Store, accountID string, current *apikey.Hash) (store.Key, []store.Event, error) {
	revoked, events, err := st.RevokeKey(ctx, accountID, current)
	if err != nil {
		return store.Key{}, nil, unauthorized(err)
	}
	return revoked, events, nil
}

// CreateAccount creates the account of a wallet together with its first
// key, for a process that keeps no replica. espresso.ErrAccountExists if the
// wallet has an account.
func CreateAccount(ctx context.Context, st *store.Store, env apikey.Env, wallet string) (store.Account, Issued, error) {
	key, first, err := generate(env)
	if err != nil {
		return store.Account{}, Issued{}, err
	}
	acct, events, err := st.CreateAccount(ctx, wallet, &first)
	if err != nil {
		return store.Account{}, Issued{}, err
	}
	issued := Issued{Key: key, AccountID: acct.ID, CreatedAt: acct.CreatedAt}
	for _, ev := range events {
		if ev.Kind == store.KeyIssued {
			issued.CreatedAt = ev.Key.CreatedAt
		}
	}
	return acct, issued, nil
}

func generate(env apikey.Env) (apikey.Key, store.NewKey, error) {
	key, err := apikey.New(env)
	if err != nil {
		return apikey.Key{}, store.NewKey{}, espresso.Wrap(espresso.Internal, err, "generating a key")
	}
	return key, store.NewKey{Hash: key.Hash(), Masked: key.Mask()}, nil
}

// unauthorized turns the store's "not the live key" into ErrUnauthorized, so
// that a lost race reads like any other stale key.
func unauthorized(err error) error {
	if espresso.KindOf(err) == espresso.Unauthorized {
		return ErrUnauthorized
	}
	return err
}

// LiveKey describes the account's live key, for callers that did not present
// it (a signed-in dashboard). espresso.ErrNoKey if there is none.
func (s *Service) LiveKey(ctx context.Context, accountID string) (KeyInfo, error) {
	k, err := s.st.LiveKey(ctx, accountID)
	if err != nil {
		return KeyInfo{}, err
	}
	used := micros(k.LastUsedAt)
	if e := s.rep.lookup(k.Hash); e != nil {
		used = max(used, e.lastUsed.Load())
	}
	return KeyInfo{Hash: k.Hash, Masked: k.Masked, CreatedAt: k.CreatedAt, LastUsedAt: fromMicros(used)}, nil
}

// flushUsage writes the last-use times marked since the previous flush. On
// failure they are marked again for the next one.
func (s *Service) flushUsage(ctx context.Context) {
	s.usedMu.Lock()
	batch := s.used
	s.used = nil
	s.usedMu.Unlock()
	if len(batch) == 0 {
		return
	}
	uses := make(map[apikey.Hash]time.Time, len(batch))
	for _, e := range batch {
		e.dirty.Store(false) // before reading lastUsed: a later use marks it again
		uses[e.key.Hash] = fromMicros(e.lastUsed.Load())
	}
	if err := s.st.RecordUse(ctx, uses); err != nil {
		s.opts.Logger.Warn("recording key use failed; will retry", "keys", len(uses), "err", err)
		for _, e := range batch {
			if e.dirty.CompareAndSwap(false, true) {
				s.usedMu.Lock()
				s.used = append(s.used, e)
				s.usedMu.Unlock()
			}
		}
	}
}
