package keys

import (
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// Info describes an API key without revealing it. It is the one
// description of a key that every operation of the service returns.
type Info struct {
	AccountID string
	Hash      apikey.Hash
	Masked    string // e.g. "dk_live_Ab3d…9xYz": safe to show and to log
	CreatedAt time.Time
	// LastUsedAt is the latest use known, not counting the request being
	// verified (Verify reports the use before it); zero: none known.
	LastUsedAt time.Time
	RevokedAt  time.Time // zero: live
}

// Issued is a key just issued: its description and its text. It is the only
// value that ever holds a key's text; it must go to the one who asked for
// the key and nowhere else.
type Issued struct {
	Info
	Key apikey.Key
}

func infoOf(k store.Key) Info {
	return Info{AccountID: k.AccountID, Hash: k.Hash, Masked: k.Masked,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}
