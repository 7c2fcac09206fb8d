// Package store defines what espresso needs from a database: accounts, their
// API keys (as hashes only), a totally ordered feed of key changes that every
// node replays into its in-memory verification cache, used sign-in nonces and
// a few server-wide settings. Backends live in subpackages (sqlite, postgres)
// and all pass the contract suite in storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
)

// Account is a trading account, owned by exactly one Cardano wallet.
type Account struct {
	ID            string // a random UUID
	WalletAddress string // bech32, as presented when the account was created
	CreatedAt     time.Time
	// Onboarded is true once the account has been issued an API key, ever.
	Onboarded bool
}

// Key is the stored form of an API key: its hash and a masked form, never the
// key itself.
type Key struct {
	AccountID  string
	Hash       apikey.Hash
	Masked     string // e.g. "dk_live_Ab3d…9xYz"
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used (as far as storage knows)
	RevokedAt  time.Time // zero: live
}

// NewKey is what a backend needs to record a freshly generated key.
type NewKey struct {
	Hash   apikey.Hash
	Masked string
}

// EventKind says what happened to a key.
type EventKind uint8

// The kinds of key event.
const (
	KeyIssued  EventKind = iota + 1 // the key became the account's live key
	KeyRevoked                      // the key stopped being valid, forever
)

func (k EventKind) String() string {
	switch k {
	case KeyIssued:
		return "issued"
	case KeyRevoked:
		return "revoked"
	}
	return "unknown"
}

// Event is one entry of the key feed. Seq is strictly increasing in commit
// order across every process that writes to the same database, so a reader
// that has applied every event up to Seq n and then reads events after n
// misses nothing.
type Event struct {
	Seq  int64
	Kind EventKind
	Key  Key // for KeyRevoked, RevokedAt is set
}

// Store is a backend. Every method is safe for concurrent use, and every
// write is durably committed before the method returns. Times are those of
// the backend's injected clock, in UTC, truncated to microseconds.
//
// Errors are *espresso.Error values: the sentinels below, Unavailable when the
// database cannot be reached (the same call may succeed later), Internal for
// anything else. A write that fails with Unavailable while committing may
// nevertheless have committed: the connection was lost with the answer.
type Store interface {
	// Migrate applies the backend's embedded migrations that are not yet
	// recorded, each in its own transaction, and returns their names.
	Migrate(ctx context.Context) (applied []string, err error)

	// CreateAccount creates the account of wallet and, when first is not nil,
	// issues it as the account's live key, in one transaction. It returns the
	// account and the events it recorded. espresso.ErrAccountExists if wallet
	// already has an account.
	CreateAccount(ctx context.Context, wallet string, first *NewKey) (Account, []Event, error)

	// AccountByWallet returns the account of wallet, or
	// espresso.ErrUserNotFound.
	AccountByWallet(ctx context.Context, wallet string) (Account, error)

	// AccountByID returns the account with id, or espresso.ErrUserNotFound.
	AccountByID(ctx context.Context, id string) (Account, error)

	// SignIn marks nonce as used (it stays recorded until expiresAt) and
	// returns the account of wallet, creating it without a key if it does not
	// exist; created says which. One transaction: of concurrent calls with the
	// same nonce exactly one succeeds, the others get ErrNonceUsed and change
	// nothing.
	SignIn(ctx context.Context, wallet, nonce string, expiresAt time.Time) (acct Account, created bool, err error)

	// RotateKey revokes the account's live key and issues next in its place,
	// atomically. When current is not nil the rotation happens only if current
	// is, at commit time, the account's live key; otherwise nothing changes and
	// the error is ErrKeyNotLive. When current is nil any live key is revoked
	// (an account with no live key just gets next). espresso.ErrUserNotFound
	// if the account does not exist, whether or not current is set. It returns the new key
	// and the events recorded.
	RotateKey(ctx context.Context, accountID string, current *apikey.Hash, next NewKey) (Key, []Event, error)

	// RevokeKey revokes the account's live key. When current is not nil it
	// must be that key, or nothing changes and the error is ErrKeyNotLive
	// (also for an unknown account); when nil, espresso.ErrNoKey if the
	// account has no live key, espresso.ErrUserNotFound if it does not exist. It returns the revoked key (RevokedAt
	// set) and the events recorded.
	RevokeKey(ctx context.Context, accountID string, current *apikey.Hash) (Key, []Event, error)

	// LiveKey returns the account's live key: espresso.ErrNoKey if it has
	// none, espresso.ErrUserNotFound if the account does not exist.
	LiveKey(ctx context.Context, accountID string) (Key, error)

	// Snapshot returns every live key and the Seq of the last event they
	// reflect (0 for a new database), read in one consistent transaction.
	Snapshot(ctx context.Context) (keys []Key, seq int64, err error)

	// Events returns up to limit events with Seq > after, in Seq order, none
	// if after is the last. Events never carry LastUsedAt. ErrFeedTruncated
	// if events after `after` have been pruned, in which case the reader must
	// start again from a Snapshot.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)

	// PruneEvents deletes the oldest events, up to the first one recorded at
	// or after t, so that what remains is always the newest part of the feed
	// with no holes; later Events calls that would need them get
	// ErrFeedTruncated. It returns how many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)

	// RecordUse raises the last_used_at of each key to the given time (never
	// lowers it). Unknown or revoked keys are ignored.
	RecordUse(ctx context.Context, uses map[apikey.Hash]time.Time) error

	// PruneNonces forgets used nonces whose expiry is before t: they can no
	// longer be presented anyway. It returns how many it deleted.
	PruneNonces(ctx context.Context, before time.Time) (int64, error)

	// Setting returns the value of the named server-wide setting; if it has
	// none, it stores create()'s value first. Concurrent callers, in any
	// process, all get the same value.
	Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error)

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error

	// Close releases the backend's resources.
	Close() error
}

// Watcher is implemented by backends that can push change notifications
// (PostgreSQL LISTEN/NOTIFY). Without one, readers poll Events.
type Watcher interface {
	// Watch blocks until ctx ends, calling notify(false) whenever new events
	// may have been committed, and notify(true) whenever it starts listening:
	// the first time, and after a lost connection is back, when notifications
	// may have been missed and the reader should revalidate from a Snapshot.
	// It never calls notify concurrently with itself.
	Watch(ctx context.Context, notify func(missed bool))
}

// The errors every backend returns (possibly wrapped), besides the domain's
// espresso.ErrUserNotFound, espresso.ErrNoKey and espresso.ErrAccountExists.
var (
	// ErrKeyNotLive: the presented key is not (or no longer) the account's
	// live key. Services answer it as espresso.ErrUnauthorized.
	ErrKeyNotLive = espresso.E(espresso.Unauthorized, "store: the key is not the account's live key")
	// ErrNonceUsed: the sign-in nonce was used already. Services answer it
	// as espresso.ErrUnauthorized.
	ErrNonceUsed = espresso.E(espresso.Unauthorized, "store: the sign-in nonce was already used")
	// ErrFeedTruncated is a signal to the feed's reader, not a failure a
	// client could act on, so it has no kind: it must be handled (by
	// reloading a snapshot), and if it ever leaked it would be a 500.
	ErrFeedTruncated = errors.New("store: the key feed was pruned past the reader's position")
)
