package store

import (
	"fmt"
	"time"

	"github.com/espresso-auth/espresso/apikey"
)

// Account is a trading account, owned by exactly one Cardano wallet.
type Account struct {
	ID            string // a random UUID
	WalletAddress string // bech32, as presented when the account was created
	CreatedAt     time.Time
	// Onboarded is true once the account has an operation key (a spot
	// account), which its bots need to trade: the platform's
	// is_onboarding_ready.
	Onboarded bool
}

// OperationKey is a bot's trading key as the server keeps it: sealed with
// its owner's password, which the server never sees, so it holds only
// opaque text.
type OperationKey struct {
	Encrypted string // encrypted_operation_key: the blob, byte for byte as given
	Hash      string // operation_key_hash, as given
	Script    bool   // is_script_operation_key
}

// SpotAccount is an account's trading side: the operation key its bots load
// at start-up. An account has at most one, and keeps it: the key is only
// ever re-encrypted (a password change), never replaced.
type SpotAccount struct {
	AccountID string
	OperationKey
	CreatedAt time.Time
	UpdatedAt time.Time // CreatedAt until the key is first re-encrypted
}

// Key is the stored form of an API key: its hash and a masked form, never the
// key itself.
type Key struct {
	AccountID string
	// WalletAddress is the wallet of the key's account, read with the key
	// (accounts' wallets never change), so that whoever holds a key knows
	// whose it is without another read. Empty only in a KeyIssued event
	// read after its account was erased.
	WalletAddress string
	Hash          apikey.Hash
	Masked        string // e.g. "dk_live_Ab3d…9xYz"
	CreatedAt     time.Time
	LastUsedAt    time.Time // zero: never used (as far as storage knows)
	RevokedAt     time.Time // zero: live
}

// NewKey is what a Store needs to record a freshly generated key.
type NewKey struct {
	Hash   apikey.Hash
	Masked string
}

// EventKind says what happened to a key.
type EventKind uint8

// The kinds of event. The feed carries sessions' starts and ends too, so
// that every node's set of live sessions follows it as its key replica
// does.
const (
	KeyIssued      EventKind = iota + 1 // the key became the account's live key
	KeyRevoked                          // the key stopped being valid, forever
	SessionStarted                      // a sign-in started the session (Event.Session)
	SessionEnded                        // the session stopped being valid, forever (Event.Session, EndedAt set)
)

func (k EventKind) String() string {
	switch k {
	case KeyIssued:
		return "issued"
	case KeyRevoked:
		return "revoked"
	case SessionStarted:
		return "session started"
	case SessionEnded:
		return "session ended"
	}
	return "unknown"
}

// IsSession reports whether an event of kind k is about a session (its
// Session is set) rather than a key.
func (k EventKind) IsSession() bool { return k == SessionStarted || k == SessionEnded }

// Event is one entry of the key feed. Seq is strictly increasing in commit
// order across every process that writes to the same database, so a reader
// that has applied every event up to Seq n and then reads events after n
// misses nothing.
type Event struct {
	Seq     int64
	Kind    EventKind
	Key     Key     // for KeyRevoked, RevokedAt is set; zero in a session event
	Session Session // for a session event only; never carries LastUsedAt
}

// SessionHash is the SHA-256 of a session's id: all storage keeps of it, so
// that reading the database yields no id a token could carry.
type SessionHash [32]byte

// Session is a signed-in session as stored.
type Session struct {
	Hash       SessionHash
	AccountID  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // it is not valid from then on
	LastUsedAt time.Time // zero: never used (as far as storage knows)
	EndedAt    time.Time // zero: not ended
}

// NewSession is what a Store needs to record a session at sign-in.
type NewSession struct {
	Hash      SessionHash
	ExpiresAt time.Time
}

// SessionUse is one session's last use, for RecordSessionUse.
type SessionUse struct {
	Hash SessionHash
	At   time.Time
}

// CopyHash copies a hash read from a database column into h, refusing a
// stored value of the wrong length: drivers read key and session hashes
// alike.
func CopyHash[H ~[32]byte](h *H, stored []byte) error {
	if len(stored) != len(*h) {
		return fmt.Errorf("a stored hash is %d bytes long, not %d", len(stored), len(*h))
	}
	copy((*h)[:], stored)
	return nil
}

// EventRow is one row of the key_events table, as both backends lay it
// out: key and session events share its columns (a session's end is in
// revoked_at, its expiry in expires_at). A driver scans the row into its
// own types and converts it here, so that what the columns mean is written
// once.
type EventRow struct {
	Seq       int64
	Kind      EventKind
	AccountID string
	Hash      []byte
	Masked    string
	Wallet    string // the account's, empty once it was erased
	Created   time.Time
	Revoked   time.Time // zero: none
	Expires   time.Time // zero: none
}

// Event returns the event the row records.
func (r EventRow) Event() (Event, error) {
	ev := Event{Seq: r.Seq, Kind: r.Kind}
	if r.Kind.IsSession() {
		ev.Session = Session{AccountID: r.AccountID, CreatedAt: r.Created, ExpiresAt: r.Expires, EndedAt: r.Revoked}
		return ev, CopyHash(&ev.Session.Hash, r.Hash)
	}
	ev.Key = Key{AccountID: r.AccountID, WalletAddress: r.Wallet, Masked: r.Masked, CreatedAt: r.Created, RevokedAt: r.Revoked}
	return ev, CopyHash(&ev.Key.Hash, r.Hash)
}
