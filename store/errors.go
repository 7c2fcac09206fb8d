package store

import (
	"errors"

	"github.com/espresso-auth/espresso"
)

// The errors a Store returns (possibly wrapped), besides the domain's
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
	// ErrFeedRewound is a signal to the feed's reader, like
	// ErrFeedTruncated: the feed ends before the reader's position, so the
	// database has gone back to an earlier state (a restore) and the reader
	// holds changes it no longer has. It must start again from scratch.
	ErrFeedRewound = errors.New("store: the key feed ends before the reader's position")
)
