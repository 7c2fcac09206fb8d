package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// soak runs a mixed load for c.soak (the rotating clients, a quarter as
// many signing in again and again with 1,000 wallets, the miss clients,
// and as many verifying a live key) and
// prints, every c.every, the server's memory and the database's size: both
// should stay flat once the event retention has passed, since the live keys
// do not grow (rotations replace them; sign-ins add accounts without keys)
// and pruning deletes old events and expired nonces.
func soak(ctx context.Context, c config, db *target, srv *server, keys []string, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, c.soak)
	defer cancel()
	var (
		rotations, signIns, misses, verifies atomic.Int64
		wg                                   sync.WaitGroup
		errOnce                              sync.Once
		failed                               error
	)
	fail := func(err error) {
		if ctx.Err() == nil {
			errOnce.Do(func() { failed = err; cancel() })
		}
	}
	worker := func(count *atomic.Int64, op func() error) {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := op(); err != nil {
					fail(err)
					return
				}
				count.Add(1)
			}
		})
	}
	var mu sync.Mutex
	steady := keys[len(keys)-1] // the verifiers', rotated by nobody
	keys = keys[:len(keys)-1]
	for i := range keys {
		worker(&rotations, func() error {
			mu.Lock()
			k := keys[i]
			mu.Unlock()
			next, err := rotate(ctx, srv.base, k)
			if err == nil {
				mu.Lock()
				keys[i] = next
				mu.Unlock()
			}
			return err
		})
	}
	// Sign-ins come back: the same 1,000 wallets, so that accounts do not
	// grow, while each sign-in's nonce is recorded until it expires.
	type signer struct {
		addr wallet.Address
		priv ed25519.PrivateKey
	}
	signers := make([]signer, 1000)
	for i := range signers {
		signers[i].addr, signers[i].priv = newAddress()
	}
	var nextSigner atomic.Int64
	for range max(c.signInClients/4, 1) {
		worker(&signIns, func() error {
			w := signers[nextSigner.Add(1)%int64(len(signers))]
			return signInAs(ctx, srv.base, w.addr, w.priv)
		})
	}
	for range c.missClients {
		worker(&misses, func() error { return miss(ctx, srv.base) })
		worker(&verifies, func() error {
			return do(ctx, "GET", srv.base+"/accounts/api-key", steady, nil, nil, 200)
		})
	}

	fmt.Fprintf(out, "soak: %v of mixed load, reported every %v\n", c.soak, c.every)
	fmt.Fprintf(out, "%8s %10s %10s %10s %12s %12s %10s %10s\n", "elapsed", "RSS", "heap", "db size", "rotations", "sign-ins", "misses", "verifies")
	began := time.Now()
	report := func() error {
		m, err := srv.metrics(context.Background())
		if err != nil {
			return err
		}
		size, err := db.size(context.Background())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%8s %10s %10s %10s %12d %12d %10d %10d\n", time.Since(began).Round(time.Second), mib(m.rss), mib(m.heap), mib(float64(size)),
			rotations.Load(), signIns.Load(), misses.Load(), verifies.Load())
		return nil
	}
	if err := report(); err != nil {
		return err
	}
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			if err := report(); err != nil {
				cancel()
				wg.Wait()
				return err
			}
		case <-ctx.Done():
		}
	}
	wg.Wait()
	if failed != nil {
		return failed
	}
	return report()
}
