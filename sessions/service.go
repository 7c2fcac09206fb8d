// Package sessions signs wallets in. It hands out a challenge for a Cardano
// wallet to sign (CIP-30 signData), checks the signed proof, starts a
// server-side session and issues the short-lived token (JWT, HS256) that
// carries the session's id. A token is valid only while its session lives:
// sessions end at sign-out, at "sign out everywhere", when the account is
// deleted, at their expiry and at the maximum lifetime. Token checks read
// a set of live sessions in memory, kept in step with the store's feed by
// the key follower (package keys), so they never touch storage. It also
// keeps the tokens' signing secret (Secret), writes back sessions' last
// use, and prunes used nonces and dead sessions.
package sessions

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/url"
	"time"

	"sync"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// Store is what sign-in needs from storage; every storage backend provides
// it. Its methods keep the meaning and errors documented in package store.
type Store interface {
	SignInSession(ctx context.Context, wallet, nonce string, expiresAt time.Time, onboard *store.OperationKey, sess store.NewSession) (store.SignedIn, error)
	EndSession(ctx context.Context, accountID string, hash store.SessionHash) (store.Session, []store.Event, error)
	EndSessions(ctx context.Context, accountID string) ([]store.Session, []store.Event, error)
	Sessions(ctx context.Context, accountID string) ([]store.Session, error)
	LiveSessions(ctx context.Context, after *store.SessionHash, limit int) ([]store.Session, error)
	RecordSessionUse(ctx context.Context, uses map[store.SessionHash]time.Time) error
	PruneSessions(ctx context.Context, before time.Time) (int64, error)
	PruneNonces(ctx context.Context, before time.Time) (int64, error)
}

// Feed is the follower of the store's feed that delivers session events to
// a Service (through Apply and Reload): package keys' Service.
type Feed interface {
	// CatchUp returns once every event committed before the call has been
	// delivered, or with an error if the feed cannot be read.
	CatchUp(ctx context.Context) error
	// Fresh returns an error (Unavailable) while what was delivered cannot
	// be trusted: the feed has been unreadable for too long.
	Fresh() error
}

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	Network wallet.Network
	// PublicURL is the server's public origin, written into every
	// challenge. Required: an absolute http(s) URL.
	PublicURL string
	// TokenTTL is how long a session token is valid. Required: positive.
	TokenTTL time.Duration
	// MaxLifetime bounds every session, whatever its token's exp says:
	// tokens are refused once their session is that old, even if the
	// lifetime was lowered after they were issued. Default 24 h.
	MaxLifetime time.Duration
	// Feed, if set, is asked to catch up when a token names a session this
	// node does not know (it may have started on another node a moment
	// ago), and whether the set of live sessions is fresh. Without it the
	// set holds only what Apply and Reload give it and this Service's own
	// sign-ins.
	Feed Feed
	// LoadPage is how many live sessions one read of Reload asks for:
	// each read is one bounded call, however many sessions live. Default
	// 10,000.
	LoadPage      int
	FlushInterval time.Duration // how often sessions' last use is written; default 5 s
	ChallengeTTL  time.Duration // how long a challenge may be answered; default 5 min
	PruneInterval time.Duration // how often used nonces are pruned; default 1 h
	Clock         clock.Clock   // default the system clock
	Logger        *slog.Logger  // default slog.Default()
}

// Service signs wallets in and verifies the session tokens it issued.
// Every server sharing a secret accepts the others' challenges and tokens.
type Service struct {
	st     Store
	opts   Options
	tokens *tokens
	domain string
	macKey []byte // authenticates challenges' nonces
	live   *liveSet

	usedMu sync.Mutex
	used   []*live // sessions whose dirty flag is set
}

// The configuration errors of New, all of kind Invalid.
var (
	// ErrShortSecret: the token secret is shorter than MinSecretLen.
	ErrShortSecret = espresso.E(espresso.Invalid, "sessions: the token secret must be at least 32 bytes")
	// ErrTokenTTL: a token or challenge lifetime is out of range.
	ErrTokenTTL = espresso.E(espresso.Invalid, "sessions: the token lifetime must be positive")
	// ErrPublicURL: Options.PublicURL is not an absolute http(s) URL.
	ErrPublicURL = espresso.E(espresso.Invalid, "sessions: the public URL must be an absolute http(s) URL")
)

// MinSecretLen is the shortest signing secret accepted: HS256 wants at least
// as many bytes as its output.
const MinSecretLen = 32

// New returns a Service over st signing tokens with secret. It does no I/O.
// Errors: ErrShortSecret (secret under MinSecretLen bytes), ErrTokenTTL (a
// token lifetime that is not positive, or a negative challenge lifetime),
// ErrPublicURL.
func New(st Store, secret []byte, opts Options) (*Service, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrShortSecret
	}
	if opts.TokenTTL <= 0 || opts.ChallengeTTL < 0 || opts.MaxLifetime < 0 {
		return nil, ErrTokenTTL
	}
	u, err := url.Parse(opts.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, ErrPublicURL
	}
	if opts.ChallengeTTL == 0 {
		opts.ChallengeTTL = 5 * time.Minute
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = time.Hour
	}
	if opts.MaxLifetime == 0 {
		opts.MaxLifetime = 24 * time.Hour
	}
	if opts.LoadPage <= 0 {
		opts.LoadPage = 10_000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	// Challenges are authenticated with a key derived from the token
	// secret, so every server sharing it accepts the others' challenges.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("espresso sign-in challenge key v1"))
	return &Service{st: st, opts: opts, tokens: newTokens(secret, opts.PublicURL, opts.Network.String(), opts.Clock.Now),
		domain: u.Host, macKey: mac.Sum(nil), live: newLiveSet()}, nil
}

// Run prunes used nonces and dead sessions every Options.PruneInterval,
// and writes sessions' last use every Options.FlushInterval, until ctx
// ends; then it writes last use once more and returns, after every
// goroutine it started has ended.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { clock.Every(ctx, s.opts.Clock, s.opts.PruneInterval, s.prune) })
	wg.Go(func() { clock.Every(ctx, s.opts.Clock, s.opts.FlushInterval, s.flushUsage) })
	wg.Wait()
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s.flushUsage(final)
}

// prune forgets used nonces that have expired (they can no longer be
// presented anyway) and sessions that have expired or ended.
func (s *Service) prune(ctx context.Context) {
	now := s.opts.Clock.Now()
	if _, err := s.st.PruneNonces(ctx, now); err != nil {
		s.opts.Logger.Warn("pruning sign-in nonces failed", "err", err)
	}
	if _, err := s.st.PruneSessions(ctx, now); err != nil {
		s.opts.Logger.Warn("pruning sessions failed", "err", err)
	}
}
