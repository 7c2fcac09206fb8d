package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256},
}

// do sends a request and decodes a 200's JSON into out; anything else but
// want is an error.
func do(ctx context.Context, method, url, key string, body, out any, want int) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	if key != "" {
		req.Header.Set("X-API-KEY", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// rotate rotates key and returns the new one.
func rotate(ctx context.Context, base, key string) (string, error) {
	var out struct {
		APIKey string `json:"api_key"`
	}
	err := do(ctx, "GET", base+"/accounts/new-api-key", key, nil, &out, 200)
	return out.APIKey, err
}

// signIn signs a new wallet in: challenge, CIP-30 signature, sign-in.
func signIn(ctx context.Context, base string) error {
	addr, priv := newAddress()
	return signInAs(ctx, base, addr, priv)
}

// signInAs signs the wallet of priv in.
func signInAs(ctx context.Context, base string, addr wallet.Address, priv ed25519.PrivateKey) error {
	var ch struct{ Nonce, Message string }
	if err := do(ctx, "POST", base+"/accounts/signin/challenge", "", map[string]string{"wallet_address": addr.String()}, &ch, 200); err != nil {
		return err
	}
	sig, key, err := wallet.SignData(priv, addr, []byte(ch.Message))
	if err != nil {
		return err
	}
	return do(ctx, "POST", base+"/accounts/signin", "", map[string]string{
		"wallet_address": addr.String(), "nonce": ch.Nonce, "signature": sig, "key": key,
	}, nil, 200)
}

// miss presents a well-formed key that no account has.
func miss(ctx context.Context, base string) error {
	k, _ := newKey()
	return do(ctx, "GET", base+"/accounts/api-key", k.String(), nil, nil, 401)
}

// parallel runs n workers for d, each calling op(i) in a loop, and returns
// the calls/s that succeeded and their mean latency. The first error stops
// it.
func parallel(ctx context.Context, n int, d time.Duration, op func(ctx context.Context, i int) error) (float64, time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		done    atomic.Int64
		busy    atomic.Int64 // nanoseconds spent in successful calls
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	began := time.Now()
	for i := range n {
		wg.Go(func() {
			for time.Since(began) < d && ctx.Err() == nil {
				start := time.Now()
				if err := op(ctx, i); err != nil {
					errOnce.Do(func() { failed = err; cancel() })
					return
				}
				busy.Add(int64(time.Since(start)))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if failed != nil {
		return 0, 0, failed
	}
	took := time.Since(began)
	if done.Load() == 0 {
		return 0, 0, ctx.Err()
	}
	return float64(done.Load()) / took.Seconds(), time.Duration(busy.Load() / done.Load()), ctx.Err()
}

// rotations rotates each client's own key in a chain, keys[i] updated as it
// goes.
func rotations(ctx context.Context, base string, keys []string, d time.Duration) (float64, time.Duration, error) {
	return parallel(ctx, len(keys), d, func(ctx context.Context, i int) error {
		next, err := rotate(ctx, base, keys[i])
		if err == nil {
			keys[i] = next
		}
		return err
	})
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// selfCPU is this process's CPU time (the clients'), in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// cpuPerOp runs phase, which returns ops/s over d, and also returns the
// server's and the clients' CPU time per operation. With a profile path it
// also writes the server's CPU profile of the phase there.
func cpuPerOp(ctx context.Context, srv *server, profile string, d time.Duration, phase func() (float64, time.Duration, error)) (rate float64, lat, server, clients time.Duration, err error) {
	before, err := srv.metrics(ctx)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	if profile != "" {
		profiled := make(chan error, 1)
		go func() { profiled <- srv.cpuProfile(ctx, d, profile) }()
		defer func() {
			if perr := <-profiled; err == nil && perr != nil {
				err = fmt.Errorf("CPU profile: %w", perr)
			}
		}()
	}
	self := selfCPU()
	began := time.Now()
	rate, lat, err = phase()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	ops := rate * time.Since(began).Seconds()
	self = selfCPU() - self
	after, err := srv.metrics(ctx)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	per := func(s float64) time.Duration {
		return time.Duration(s / ops * float64(time.Second)).Round(time.Microsecond)
	}
	return rate, lat, per(after.cpu - before.cpu), per(self), nil
}

// measure runs the throughput rounds and the miss flood and prints them.
func measure(ctx context.Context, c config, db *target, srv *server, keys []string, liveRows int, raw time.Duration, out io.Writer) error {
	var rawR, rotR, signR []float64
	for r := range c.rounds {
		vacuumed, err := db.vacuum(ctx)
		if err != nil {
			return fmt.Errorf("vacuum: %w", err)
		}
		if vacuumed && r == 0 {
			fmt.Fprintln(out, "autovacuum is off on this cluster: each round starts with a VACUUM of the schema's tables")
		}
		raw, err := rawCommits(ctx, db, c.secs)
		if err != nil {
			return fmt.Errorf("raw commits: %w", err)
		}
		rot, rotLat, rotSrv, rotCli, err := cpuPerOp(ctx, srv, c.profile("rotations", r), c.secs, func() (float64, time.Duration, error) { return rotations(ctx, srv.base, keys[:c.clients], c.secs) })
		if err != nil {
			return fmt.Errorf("rotations: %w", err)
		}
		sign, signLat, signSrv, signCli, err := cpuPerOp(ctx, srv, c.profile("signins", r), c.secs, func() (float64, time.Duration, error) {
			return parallel(ctx, c.signInClients, c.secs, func(ctx context.Context, _ int) error { return signIn(ctx, srv.base) })
		})
		if err != nil {
			return fmt.Errorf("sign-ins: %w", err)
		}
		fmt.Fprintf(out, "round %d: raw commits %5.0f/s | rotations %5.0f/s %.2f× (mean %v; CPU/op server %v, clients %v) | sign-ins %5.0f/s %.2f× (mean %v; CPU/op server %v, clients %v)\n",
			r+1, raw, rot, rot/raw, rotLat.Round(time.Microsecond), rotSrv, rotCli, sign, sign/raw, signLat.Round(time.Microsecond), signSrv, signCli)
		rawR, rotR, signR = append(rawR, raw), append(rotR, rot/raw), append(signR, sign/raw)
	}
	one := keys[:1]
	_, lat, err := rotations(ctx, srv.base, one, c.secs)
	if err != nil {
		return fmt.Errorf("single-client rotations: %w", err)
	}

	before, err := srv.metrics(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	misses, _, err := parallel(ctx, c.missClients, c.secs, func(ctx context.Context, _ int) error { return miss(ctx, srv.base) })
	if err != nil {
		return fmt.Errorf("miss flood: %w", err)
	}
	after, err := srv.metrics(ctx)
	if err != nil {
		return err
	}
	reads := (after.dbCalls - before.dbCalls) / time.Since(began).Seconds()

	fmt.Fprintf(out, "\nsummary (%s, %d live keys; medians of %d rounds of %v):\n", c.db, liveRows, c.rounds, c.secs)
	fmt.Fprintf(out, "  raw single-row commits      %8.0f/s\n", median(rawR))
	fmt.Fprintf(out, "  rotations, %2d clients       %8.2f× raw\n", c.clients, median(rotR))
	fmt.Fprintf(out, "  sign-ins, %2d clients        %8.2f× raw\n", c.signInClients, median(signR))
	fmt.Fprintf(out, "  one client's rotation       %8v mean\n", lat.Round(time.Microsecond))
	fmt.Fprintf(out, "  unknown keys, %d client(s)   %8.0f/s, %.0f database calls/s (%.3f per miss)\n", c.missClients, misses, reads, reads/misses)
	fmt.Fprintf(out, "  ready                       %8.2f× the raw read (%v against %v)\n", srv.ready.Seconds()/raw.Seconds(), srv.ready.Round(time.Millisecond), raw.Round(time.Millisecond))
	fmt.Fprintf(out, "  memory after the load       RSS %s, Go heap in use %s (%.0f B per live key)\n", mib(after.rss), mib(after.heap), after.heap/float64(max(liveRows, 1)))
	return nil
}
