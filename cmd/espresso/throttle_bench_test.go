package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/wallet"
)

// BenchmarkThrottle_ValidKeyP99UnderAFlood measures what a flood of unknown
// keys from one client does to another client's valid key: client A checks
// its key at /auth/verify one request at a time, over HTTP, against a real
// server (SQLite), in blocks of 1000 alternately quiet and with client B
// flooding unknown keys from 4 connections as fast as they go. It reports
// A's p99 in each phase and their ratio (flood over quiet), with the
// default budget and delay ("throttled"), without the delay, and with a
// budget the flood never spends ("unthrottled": every bad key is looked up
// and refused). Client and
// server share the machine, so run it alone:
//
//	go test -run '^$' -bench BenchmarkThrottle -benchtime 20000x -count 3 ./cmd/espresso/
func BenchmarkThrottle_ValidKeyP99UnderAFlood(b *testing.B) {
	for _, bc := range []struct {
		name  string
		flags []string
	}{
		{"throttled", []string{"--auth-failure-rate", "20", "--auth-failure-burst", "20", "--auth-failure-delay", "1s"}},
		{"throttled-without-delay", []string{"--auth-failure-rate", "20", "--auth-failure-burst", "20"}},
		{"unthrottled", nil}, // the tests' roomy budget
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := b.TempDir()
			n := serveNode(b, nil, append([]string{"--data", data, "--trusted-proxies", "127.0.0.1", "--log-level", "warn"}, bc.flags...)...)
			good := mustIssue(b, map[string]string{"ESPRESSO_DATA": data}, "account", "create", "--wallet", newWallet(b, wallet.Mainnet))
			bad := make([]string, 1000)
			for i := range bad {
				bad[i] = unknownKey(b)
			}
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			defer hc.CloseIdleConnections()
			get := func(ctx context.Context, client, key string) int {
				req, _ := http.NewRequestWithContext(ctx, "GET", n.url+"/auth/verify", nil)
				req.Header.Set("X-Forwarded-For", client)
				req.Header.Set("X-API-KEY", key)
				resp, err := hc.Do(req)
				if err != nil {
					return 0
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			var quiet, flooded []time.Duration
			stop := func() {}
			var wg sync.WaitGroup
			const block = 1000 // requests of A per phase: a phase's start (the flood's new connections) is a small part of it
			floodOn := false
			i := 0
			for b.Loop() {
				if i%block == 0 {
					if floodOn {
						stop()
						wg.Wait()
					} else {
						ctx, cancel := context.WithCancel(context.Background())
						stop = cancel
						for w := range 4 {
							wg.Go(func() {
								for j := w; ctx.Err() == nil; j++ {
									get(ctx, "203.0.113.9", bad[j%len(bad)])
								}
							})
						}
					}
					floodOn = !floodOn
				}
				i++
				start := time.Now()
				if status := get(context.Background(), "198.51.100.7", good.APIKey); status != 200 {
					b.Fatalf("client A's valid key: %d", status)
				}
				if floodOn {
					flooded = append(flooded, time.Since(start))
				} else {
					quiet = append(quiet, time.Since(start))
				}
			}
			if floodOn {
				stop()
				wg.Wait()
			}
			if len(quiet) == 0 || len(flooded) == 0 {
				return // too few iterations for both phases
			}
			pq, pf := p99(quiet), p99(flooded)
			b.ReportMetric(float64(pq.Microseconds()), "p99-quiet-µs")
			b.ReportMetric(float64(pf.Microseconds()), "p99-flood-µs")
			b.ReportMetric(float64(pf)/float64(pq), "p99-ratio")
		})
	}
}

func p99(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*99/100)]
}
