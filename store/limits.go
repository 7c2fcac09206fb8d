package store

import (
	"context"
	"time"

	"github.com/espresso-auth/espresso"
)

// TokenBuckets is implemented by drivers whose database several nodes
// share (PostgreSQL), to keep rate limits for the whole cluster; see
// Store.TakeToken, which has the same contract.
type TokenBuckets interface {
	TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (ok bool, wait time.Duration, err error)
	SweepTokens(ctx context.Context) error
}

// SharesLimits reports whether TakeToken works: whether the database keeps
// rate limits for every node that shares it.
func (s *Store) SharesLimits() bool {
	_, ok := s.d.(TokenBuckets)
	return ok
}

// TakeToken takes a token from the bucket of scope and client that every
// node sharing the database uses: it gets one token every `every`, up to
// burst, by the database's clock (the generic cell rate algorithm: one
// row per bucket, one statement per call). It reports whether there was
// one, and how long until the bucket has one again (zero while some are
// left). Concurrent calls, from any node, take distinct tokens. Buckets are
// not durable: a database restart may refill them. On a driver without
// shared buckets (SQLite) it fails with espresso.Invalid.
func (s *Store) TakeToken(ctx context.Context, scope, client string, every time.Duration, burst int) (ok bool, wait time.Duration, err error) {
	tb, found := s.d.(TokenBuckets)
	if !found {
		return false, 0, espresso.E(espresso.Invalid, s.d.Name()+": no shared rate limits")
	}
	err = s.observed("take token", func() error {
		ok, wait, err = tb.TakeToken(ctx, scope, client, every, burst)
		return err
	})
	return ok, wait, err
}

// SweepTokens deletes the buckets that are full again, which are the same
// as missing ones. It does nothing on a driver without shared buckets.
func (s *Store) SweepTokens(ctx context.Context) error {
	tb, found := s.d.(TokenBuckets)
	if !found {
		return nil
	}
	return s.observed("sweep tokens", func() error { return tb.SweepTokens(ctx) })
}
