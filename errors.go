// Package espresso is the domain vocabulary shared by every layer of the
// server: the kinds of failure a caller can act on. The HTTP layer turns a
// Kind into the platform's {"code", "error", "msg"} answer in exactly one
// place.
package espresso

import (
	"errors"
	"fmt"
)

// Kind classifies a failure by what the caller can do about it.
type Kind uint8

// The kinds of failure. The zero value is Internal so that an error nobody
// classified is treated as a bug and never shown to a client.
const (
	Internal     Kind = iota // a bug or an unexpected dependency failure
	Invalid                  // the request is malformed
	Unauthorized             // missing, bad, stale or foreign credentials
	NotFound                 // the thing asked for does not exist
	Conflict                 // the request contradicts existing state
	RateLimited              // the caller is over its request budget
	Unavailable              // a dependency is down; the same request may succeed later
	Forbidden                // valid credentials that do not allow this request
)

var kindNames = [...]string{"internal", "invalid", "unauthorized", "not found", "conflict", "rate limited", "unavailable", "forbidden"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Error is a failure with a Kind. Message is for operators and logs; it is
// never sent to an HTTP client, so it may name internals but must never
// contain a key, a token or a secret.
type Error struct {
	Kind    Kind
	Message string
	Err     error
}

// E returns a new *Error of kind with message.
func E(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }

// Wrap returns err annotated with kind and message; errors.Is and errors.As
// still see err. Wrap(k, nil, m) is E(k, m).
func Wrap(kind Kind, err error, message string) error {
	return &Error{Kind: kind, Message: message, Err: err}
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Message
	case e.Message == "":
		return e.Err.Error()
	default:
		return e.Message + ": " + e.Err.Error()
	}
}

func (e *Error) Unwrap() error { return e.Err }

// The named failures a caller can tell apart. Each has exactly one answer
// in the HTTP error table; storage and services return them (possibly
// wrapped) instead of inventing their own, so that "no such account" and
// "no key" never blur into one "not found".
var (
	// ErrUnauthorized: a missing, malformed, unknown, revoked or expired
	// credential, or a proof that does not hold. The reason is never told.
	ErrUnauthorized = E(Unauthorized, "unauthorized")
	// ErrUserNotFound: the account does not exist.
	ErrUserNotFound = E(NotFound, "no such account")
	// ErrNoKey: the account exists but has no live API key.
	ErrNoKey = E(NotFound, "the account has no live API key")
	// ErrAccountExists: the wallet already has an account.
	ErrAccountExists = E(Conflict, "the wallet already has an account")
	// ErrRateLimited: the caller is over its budget.
	ErrRateLimited = E(RateLimited, "rate limited")

	// ErrNoSpotAccount: the account has no spot account, hence no
	// operation key: it has not been onboarded.
	ErrNoSpotAccount = E(NotFound, "the account has no spot account")
	// ErrNoOperationKey: the account has no operation key for its bots to
	// load (the same state as ErrNoSpotAccount, asked for the key).
	ErrNoOperationKey = E(NotFound, "the account has no operation key")
	// ErrSpotAccountExists: the account has a spot account already; its
	// operation key can be re-encrypted, never replaced.
	ErrSpotAccountExists = E(Conflict, "the account already has a spot account")
	// ErrTokenRequired: the request may only be made with a sign-in token
	// (a wallet's proof), and presented only an API key: a leaked key must
	// not be able to replace a bot's trading key.
	ErrTokenRequired = E(Forbidden, "a sign-in token is required")
	// ErrOtherAccount: the request names (user_id) an account other than
	// the caller's.
	ErrOtherAccount = E(Forbidden, "the request names another account")
)

// KindOf reports the kind of the outermost *Error in err's chain, or
// Internal when there is none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
