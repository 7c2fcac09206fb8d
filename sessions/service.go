// Package sessions signs wallets in. It hands out a challenge for a Cardano
// wallet to sign (CIP-30 signData), checks the signed proof, and issues and
// verifies the short-lived session tokens (JWT, HS256) a sign-in yields.
// It also keeps the tokens' signing secret (Secret) and prunes the used
// nonces that sign-ins record.
package sessions

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/url"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// Store is what sign-in needs from storage; every storage backend provides
// it. Its methods keep the meaning and errors documented in package store.
type Store interface {
	SignIn(ctx context.Context, wallet, nonce string, expiresAt time.Time, onboard *store.OperationKey) (acct store.Account, created bool, err error)
	PruneNonces(ctx context.Context, before time.Time) (int64, error)
}

// Options configure a Service. Zero values take the documented defaults.
type Options struct {
	Network wallet.Network
	// PublicURL is the server's public origin, written into every
	// challenge. Required: an absolute http(s) URL.
	PublicURL string
	// TokenTTL is how long a session token is valid. Required: positive.
	TokenTTL      time.Duration
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

// CheckSecret returns ErrShortSecret for a secret New would refuse: the one
// place that knows what a token secret must be, so that serve can refuse a
// bad one before it touches any data.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return ErrShortSecret
	}
	return nil
}

// New returns a Service over st signing tokens with secret. It does no I/O.
// Errors: ErrShortSecret (secret under MinSecretLen bytes), ErrTokenTTL (a
// token lifetime that is not positive, or a negative challenge lifetime),
// ErrPublicURL.
func New(st Store, secret []byte, opts Options) (*Service, error) {
	if err := CheckSecret(secret); err != nil {
		return nil, err
	}
	if opts.TokenTTL <= 0 || opts.ChallengeTTL < 0 {
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
	return &Service{st: st, opts: opts, tokens: newTokens(secret, opts.TokenTTL, opts.Clock.Now),
		domain: u.Host, macKey: mac.Sum(nil)}, nil
}

// VerifyToken checks a session token's signature (HS256 only: "none" and
// every other algorithm are refused), expiry and claims. Every failure is
// espresso.ErrUnauthorized; the reason is not told.
func (s *Service) VerifyToken(token string) (Claims, error) { return s.tokens.verify(token) }

// Run prunes used nonces that have expired, every Options.PruneInterval,
// until ctx ends, and returns only then.
func (s *Service) Run(ctx context.Context) {
	clock.Every(ctx, s.opts.Clock, s.opts.PruneInterval, s.pruneNonces)
}

// pruneNonces forgets used nonces that have expired: they can no longer be
// presented anyway.
func (s *Service) pruneNonces(ctx context.Context) {
	if _, err := s.st.PruneNonces(ctx, s.opts.Clock.Now()); err != nil {
		s.opts.Logger.Warn("pruning sign-in nonces failed", "err", err)
	}
}
