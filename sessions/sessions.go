package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// sessionIDLen is the random bytes of a session id: 128 bits, hex in the
// token's jti.
const sessionIDLen = 16

// newSessionID returns a fresh session id.
func newSessionID() (string, error) {
	var b [sessionIDLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", espresso.Wrap(espresso.Internal, err, "sessions: session id")
	}
	return hex.EncodeToString(b[:]), nil
}

// hashID is what storage and memory keep of a session id.
func hashID(id string) store.SessionHash { return sha256.Sum256([]byte(id)) }

// VerifyToken checks a session token: its signature (HS256 only: "none"
// and every other algorithm are refused), expiry, issuer (the public URL)
// and audience (the network), then its session, which must be live in
// memory, belong to the token's account, not be ended or expired, and be
// younger than the maximum lifetime, whatever exp says. A session this
// node does not know triggers one catch-up with the feed first, as an
// unknown key does, so that a sign-in on another node a moment ago is
// honoured. Every refusal is espresso.ErrUnauthorized, the reason untold;
// an Unavailable error means the answer could not be known (the feed
// could not be read, or not for too long).
func (s *Service) VerifyToken(ctx context.Context, token string) (Claims, error) {
	c, err := s.tokens.verify(token)
	if err != nil {
		return Claims{}, err
	}
	h := hashID(c.ID)
	e := s.live.lookup(h)
	if e == nil && s.opts.Feed != nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := s.opts.Feed.CatchUp(ctx)
		cancel()
		if err != nil {
			return Claims{}, espresso.Wrap(espresso.Unavailable, err, "sessions: reading the feed for an unknown session")
		}
		e = s.live.lookup(h)
	}
	now := s.opts.Clock.Now()
	if e == nil || e.accountID != c.AccountID || !now.Before(e.expires) || !now.Before(e.created.Add(s.opts.MaxLifetime)) {
		return Claims{}, espresso.ErrUnauthorized
	}
	if s.opts.Feed != nil {
		if err := s.opts.Feed.Fresh(); err != nil {
			return Claims{}, err
		}
	}
	raise(&e.lastUsed, now.UnixMicro())
	if e.dirty.CompareAndSwap(false, true) {
		s.usedMu.Lock()
		s.used = append(s.used, e)
		s.usedMu.Unlock()
	}
	return c, nil
}

// SignOut ends the session of the verified token c. On return this node
// refuses the token; other nodes follow through the feed. Ending a session
// that has just ended or expired is no error.
func (s *Service) SignOut(ctx context.Context, c Claims) error {
	_, events, err := s.st.EndSession(ctx, c.AccountID, hashID(c.ID))
	if err != nil {
		return err
	}
	s.live.apply(events)
	return nil
}

// EndAll ends every live session of the account ("sign out everywhere")
// and returns how many it ended. On return this node refuses their tokens.
// espresso.ErrUserNotFound if the account does not exist.
func (s *Service) EndAll(ctx context.Context, accountID string) (int, error) {
	ended, events, err := s.st.EndSessions(ctx, accountID)
	if err != nil {
		return 0, err
	}
	s.live.apply(events)
	return len(ended), nil
}

// Info describes a live session without its id.
type Info struct {
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	ExpiresAt  time.Time // the earlier of its expiry and the maximum lifetime
	Current    bool      // the session of the token the caller presented
}

// List returns the account's live sessions, newest first. currentID is the
// session id of the caller's token ("" for none), marked Current. Last use
// includes what this node has seen and not yet written.
// espresso.ErrUserNotFound if the account does not exist.
func (s *Service) List(ctx context.Context, accountID, currentID string) ([]Info, error) {
	stored, err := s.st.Sessions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var current store.SessionHash
	if currentID != "" {
		current = hashID(currentID)
	}
	now := s.opts.Clock.Now()
	out := make([]Info, 0, len(stored))
	for _, se := range stored {
		end := se.ExpiresAt
		if limit := se.CreatedAt.Add(s.opts.MaxLifetime); limit.Before(end) {
			end = limit
		}
		if !now.Before(end) {
			continue
		}
		info := Info{CreatedAt: se.CreatedAt, LastUsedAt: se.LastUsedAt, ExpiresAt: end,
			Current: currentID != "" && se.Hash == current}
		if e := s.live.lookup(se.Hash); e != nil {
			info.LastUsedAt = fromMicros(max(micros(se.LastUsedAt), e.lastUsed.Load()))
		}
		out = append(out, info)
	}
	return out, nil
}

// Apply applies events read from the feed, in order: the session events
// among them start and end sessions in this node's memory. The key
// follower calls it with every page it reads.
func (s *Service) Apply(events []store.Event) { s.live.apply(events) }

// Reload replaces this node's live sessions with storage's, read in pages
// of Options.LoadPage, each one bounded call. The key follower calls it
// after reading the feed's head and applies the feed from there once it
// returns, which replays whatever the pages missed or were too early for.
// The set is replaced once every page is read: a failed page leaves it
// as it was.
func (s *Service) Reload(ctx context.Context) error {
	var (
		all   []store.Session
		after *store.SessionHash
	)
	for {
		page, err := s.st.LiveSessions(ctx, after, s.opts.LoadPage)
		if err != nil {
			return err
		}
		all = append(all, page...)
		if len(page) < s.opts.LoadPage {
			break
		}
		after = &page[len(page)-1].Hash
	}
	s.live.reset(all)
	return nil
}

// LiveCount returns how many live sessions this node holds in memory, for
// metrics.
func (s *Service) LiveCount() int { return s.live.size() }

// flushUsage writes the last-use times marked since the previous flush
// and forgets expired sessions. On failure the uses are marked again for
// the next one.
func (s *Service) flushUsage(ctx context.Context) {
	s.live.prune(s.opts.Clock.Now())
	s.usedMu.Lock()
	batch := s.used
	s.used = nil
	s.usedMu.Unlock()
	if len(batch) == 0 {
		return
	}
	uses := make(map[store.SessionHash]time.Time, len(batch))
	for _, e := range batch {
		e.dirty.Store(false) // before reading lastUsed: a later use marks it again
		uses[e.hash] = fromMicros(e.lastUsed.Load())
	}
	if err := s.st.RecordSessionUse(ctx, uses); err != nil {
		s.opts.Logger.Warn("recording session use failed; will retry", "sessions", len(uses), "err", err)
		for _, e := range batch {
			if e.dirty.CompareAndSwap(false, true) {
				s.usedMu.Lock()
				s.used = append(s.used, e)
				s.usedMu.Unlock()
			}
		}
	}
}
