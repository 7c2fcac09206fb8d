package store

import (
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
