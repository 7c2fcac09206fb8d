package keys

import (
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Info describes an API key without revealing it. It is the one
// description of a key that every operation of the service returns.
type Info struct {
	AccountID     string
	WalletAddress string // the account's
	Hash          apikey.Hash
	Masked        string // e.g. "dk_live_Ab3d…9xYz": safe to show and to log
	CreatedAt     time.Time
	// LastUsedAt is the latest use known, not counting the request being
	// verified (Verify reports the use before it); zero: none known.
	LastUsedAt time.Time
	RevokedAt  time.Time // zero: live

	owner *[2]string // AccountID and WalletAddress, in the replica's memory; nil if not from Verify
}

// OwnerHeaders returns AccountID and WalletAddress as HTTP header values
// (one-element slices). For an Info from Verify they share the replica's
// memory and cost no allocation, which is what the forward-auth endpoint
// needs on every request; nobody may write to them (net/http only reads
// header values). Each has capacity 1, so an append copies.
func (i Info) OwnerHeaders() (accountID, wallet []string) {
	if i.owner == nil {
		return []string{i.AccountID}, []string{i.WalletAddress}
	}
	return i.owner[0:1:1], i.owner[1:2:2]
}

// Issued is a key just issued: its description and its text. It is the only
// value that ever holds a key's text; it must go to the one who asked for
// the key and nowhere else.
type Issued struct {
	Info
	Key apikey.Key
}

func infoOf(k store.Key) Info {
	return Info{AccountID: k.AccountID, WalletAddress: k.WalletAddress, Hash: k.Hash, Masked: k.Masked,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
