package store

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso/apikey"
)

// Driver is a database as a Store uses it: the database's SQL, types,
// locking and retries, and none of espresso's rules. What runs in which
// transaction, in what order, and what an empty result means is decided
// once, by the Store's methods; a driver only supplies the primitives they
// are written with. A driver's errors are the database's own; the Store
// classifies them (see Unavailable).
type Driver interface {
	// Name names the backend in error messages, e.g. "sqlite".
	Name() string

	// Read calls fn with a Reader of committed data, outside any write
	// transaction, and returns fn's error. Each Reader call sees one
	// consistent state of the database; different calls of one fn may see
	// different ones. The driver bounds fn's work as it bounds every call,
	// and may call fn again after a failure that is safe to retry.
	Read(ctx context.Context, fn func(ctx context.Context, r Reader) error) error

	// Write calls fn in a new write transaction of the given kind, once that
	// kind's locks are held, and commits it if fn returns nil; otherwise it
	// rolls it back and returns fn's error. The driver may call fn again, in
	// a new transaction, when an attempt failed before its commit in a way
	// that is safe to retry, so fn must have no effect but on the
	// transaction and on results it sets afresh on each call. A failed
	// commit is never retried: it may have happened.
	Write(ctx context.Context, kind TxKind, fn func(ctx context.Context, tx Tx) error) error

	// Migrations returns the backend's embedded migrations in version order
	// (see the package function Migrations).
	Migrations() ([]Migration, error)

	// Unavailable reports whether err, returned by one of the driver's
	// methods, means that the database could not be reached or could not
	// serve the call now (a lock held too long, a lost connection), so that
	// the same call may succeed later. An ended context is Unavailable
	// whatever this says.
	Unavailable(err error) bool

	// Ping reports whether the database answers.
	Ping(ctx context.Context) error

	// Close releases the driver's resources; calls in progress may fail.
	Close() error
}

// Watcher is implemented by drivers whose database pushes change
// notifications (PostgreSQL's LISTEN/NOTIFY); see Store.Watch, which has
// the same contract. A driver without it is polled.
type Watcher interface {
	Watch(ctx context.Context, notify func(missed bool))
}

// Marker is implemented by drivers that can tell cheaply, without reading
// the feed, whether anything may have been committed since an earlier
// moment; see Store.FeedMark, which has the same contract.
type Marker interface {
	FeedMark(ctx context.Context, sync bool) (mark uint64, ok bool)
}

// TxKind says what a write transaction does, and so which lock the driver
// takes before the transaction's first statement.
type TxKind uint8

// The kinds of write transaction.
const (
	// RowTx changes rows and records no key event: sign-in, settings, use
	// times, pruning, spot accounts.
	RowTx TxKind = iota
	// FeedTx records key events. The driver serialises such transactions
	// (holding a lock from before the first statement to the end) so that
	// seqs are allocated, and the transactions commit, in one order.
	FeedTx
	// SchemaTx applies a migration or reads the migrations applied so far.
	// The driver serialises such transactions across processes, and bounds
	// them by the context alone: a migration, or waiting for another
	// process's, may take long.
	SchemaTx
)

// Reader is the primitives that read. A "found" or "ok" result false means
// there is no such row; it is never an error. Every Key a primitive returns
// (here and in Tx) carries its account's WalletAddress, read from the
// accounts table: events do not store it.
type Reader interface {
	// AccountByID returns the account with id, Onboarded included.
	AccountByID(ctx context.Context, id string) (a Account, found bool, err error)
	// AccountByWallet returns the account of wallet, Onboarded included.
	AccountByWallet(ctx context.Context, wallet string) (a Account, found bool, err error)
	// LiveKey returns the account's key that is not revoked.
	LiveKey(ctx context.Context, accountID string) (k Key, found bool, err error)
	// Snapshot returns every key that is not revoked and the seq of the last
	// event ever recorded (pruned or not, 0 if none), as of one state of the
	// database.
	Snapshot(ctx context.Context) (keys []Key, seq int64, err error)
	// LastSeq returns the seq of the last event ever recorded (pruned or
	// not, 0 if none).
	LastSeq(ctx context.Context) (int64, error)
	// LiveKeysAfter returns up to limit (>= 1) keys that are not revoked,
	// of the accounts whose id sorts after afterAccount, in account id
	// order (the database's order for text, the same in every call), as of
	// one state of the database. It is one bounded
	// page of a snapshot: it must use an index on the live keys' account
	// ids, never read all keys.
	LiveKeysAfter(ctx context.Context, afterAccount string, limit int) ([]Key, error)
	// LiveKeyByHash returns the key with hash h if it is not revoked, with
	// an indexed lookup.
	LiveKeyByHash(ctx context.Context, h apikey.Hash) (k Key, found bool, err error)
	// Events returns the pruning horizon (every event with a seq up to it
	// has been pruned) and up to limit (>= 0) events with Seq > after, in
	// Seq order, both as of one state of the database. Events do not carry
	// LastUsedAt.
	Events(ctx context.Context, after int64, limit int) (prunedThrough int64, events []Event, err error)
	// FirstSeqSince returns the seq of the first event recorded at or after
	// t or, if there is none, the seq the next event will get; events
	// committed later get greater seqs either way.
	FirstSeqSince(ctx context.Context, t time.Time) (int64, error)
	// Setting returns the value of the named setting (never nil).
	Setting(ctx context.Context, name string) (value []byte, found bool, err error)
	// SpotAccount returns the account's spot account.
	SpotAccount(ctx context.Context, accountID string) (a SpotAccount, found bool, err error)
	// LiveSessionsAfter returns up to limit sessions that are not ended
	// and expire after now, whose hashes sort after the given bytes (none:
	// from the first), in hash order.
	LiveSessionsAfter(ctx context.Context, now time.Time, after []byte, limit int) ([]Session, error)
	// AccountSessions returns the account's sessions that are not ended
	// and expire after now, newest (CreatedAt) first.
	AccountSessions(ctx context.Context, accountID string, now time.Time) ([]Session, error)
	// AppliedMigrations returns the versions recorded as applied, none when
	// the database has no migrations table; it creates nothing.
	AppliedMigrations(ctx context.Context) ([]int64, error)
}

// Tx is the primitives of a write transaction: the Reader's, and those that
// write. Each call sees what the transaction wrote and what other
// transactions committed before the call. Times are given as they are to be
// stored (UTC, microseconds).
type Tx interface {
	Reader
	Savepoints
	// InsertAccount stores a, unless its wallet has an account already, in
	// which case it changes nothing and returns false (waiting first, if
	// another transaction is inserting one, for that one to end).
	InsertAccount(ctx context.Context, a Account) (inserted bool, err error)
	// InsertKey stores k (not revoked, never used) as a key of its account;
	// the account must have no live key. A Pipeliner may send it with the
	// write's next statement: its error may come from that call, or from
	// Flush.
	InsertKey(ctx context.Context, k Key) error
	// RevokeLiveKey sets RevokedAt to at on the account's live key, if it
	// has one and, when current is not nil, it is current, and returns the
	// key as revoked, with its account's WalletAddress.
	RevokeLiveKey(ctx context.Context, accountID string, current *apikey.Hash, at time.Time) (k Key, revoked bool, err error)
	// AppendEvent records e (its Seq ignored) at the end of the key feed,
	// as recorded at the given time, and returns its seq: greater than
	// every seq recorded before, pruned or not. Only in a FeedTx.
	AppendEvent(ctx context.Context, e Event, at time.Time) (seq int64, err error)
	// RecordUse raises each live key's last use to its Use's time, never
	// lowering it, in the order given; unknown and revoked keys are skipped.
	RecordUse(ctx context.Context, uses []Use) error
	// DeleteEventsBefore deletes every event with a seq below seq and raises
	// the pruning horizon to the highest seq it deleted, and returns how
	// many it deleted.
	DeleteEventsBefore(ctx context.Context, seq int64) (int64, error)
	// DeleteKeysRevokedBefore deletes the keys revoked before t and returns
	// how many it deleted.
	DeleteKeysRevokedBefore(ctx context.Context, t time.Time) (int64, error)
	// UseNonce records nonce as used until expires, unless it is recorded
	// already, in which case it changes nothing and returns false (waiting
	// first, if another transaction is recording it, for that one to end).
	UseNonce(ctx context.Context, nonce string, expires time.Time) (recorded bool, err error)
	// DeleteNoncesBefore deletes the nonces that expire before t and returns
	// how many it deleted.
	DeleteNoncesBefore(ctx context.Context, t time.Time) (int64, error)
	// InsertSetting stores the named setting, unless it has a value already
	// (waiting first for a transaction storing one to end). A later Setting
	// call of the same transaction sees the stored value.
	InsertSetting(ctx context.Context, name string, value []byte) error
	// InsertSpotAccount stores a (its account must exist), unless the
	// account has a spot account already, in which case it changes nothing
	// and returns false (waiting first, if another transaction is inserting
	// one, for that one to end).
	InsertSpotAccount(ctx context.Context, a SpotAccount) (inserted bool, err error)
	// SetEncryptedOperationKey replaces the blob of the account's spot
	// account, and sets its UpdatedAt to at, if it has one.
	SetEncryptedOperationKey(ctx context.Context, accountID, encrypted string, at time.Time) (updated bool, err error)
	// InsertSession stores s (not ended, never used); its account must
	// exist and its hash must be new. Held back as InsertKey may be.
	InsertSession(ctx context.Context, s Session) error
	// EndSession sets EndedAt to at on the account's session with hash, if
	// it is not ended and expires after at, and returns it as ended.
	EndSession(ctx context.Context, accountID string, hash SessionHash, at time.Time) (s Session, ended bool, err error)
	// EndAccountSessions does what EndSession does to every session of the
	// account that is live at at, and returns them as ended.
	EndAccountSessions(ctx context.Context, accountID string, at time.Time) ([]Session, error)
	// RecordSessionUse raises each live session's last use to its
	// SessionUse's time, never lowering it, in the order given; unknown and
	// ended sessions are skipped.
	RecordSessionUse(ctx context.Context, uses []SessionUse) error
	// DeleteSessionsBefore deletes the sessions that expired or ended
	// before t and returns how many it deleted.
	DeleteSessionsBefore(ctx context.Context, t time.Time) (int64, error)
	// DeleteAccount deletes the account and every row that refers to it:
	// its keys (live or not), sessions and spot account. It reports
	// whether the account existed.
	DeleteAccount(ctx context.Context, accountID string) (deleted bool, err error)
	// ApplyMigration runs m's SQL and records m as applied at the given
	// time, creating the table that records migrations if it does not
	// exist. Only in a SchemaTx.
	ApplyMigration(ctx context.Context, m Migration, at time.Time) error
}

// Use is one key's last use, for RecordUse.
type Use struct {
	Hash apikey.Hash
	At   time.Time
}
