// Command scalebench measures espresso with many live keys, as an operator
// whose platform grew would: it bulk-loads N accounts with a key each
// through the store package (the code the server and CLI use, no SQL of its
// own), starts the real binary on them, drives it over HTTP and prints
//
//   - memory: the process's RSS and Go heap in use, once the key replica is
//     loaded and after the load, and the heap per live key;
//   - the ready-time ratio: time from exec to /readyz answering 200, against
//     the time the same driver takes just to read the live keys' rows;
//   - the rotation and sign-in ratios: durable rotations/s (32 clients, each
//     rotating its own key in a chain) and sign-ins/s (challenge plus
//     sign-in, a new wallet each) against the raw single-row commit rate of
//     the same database on the same disk, measured in the same run,
//     interleaved, the median of the rounds;
//   - a single client's rotation latency;
//   - database calls per second under a flood of well-formed unknown keys
//     (from the server's espresso_db_call_duration_seconds counts).
//
// With -soak it then runs a mixed load for that long instead, printing
// memory and database size at every -every.
//
//	go run ./scripts/scalebench -keys 1000000 -db sqlite
//	go run ./scripts/scalebench -keys 1000000 -db postgres -url postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./scripts/scalebench -keys 100000 -soak 10m -event-retention 1m
//
// It is a benchmark, run on demand, never in CI.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	keys          int
	db            string
	url           string
	dir           string
	bin           string
	clients       int
	signInClients int
	missClients   int
	rounds        int
	secs          time.Duration
	soak          time.Duration
	every         time.Duration
	retention     time.Duration
	loadOnly      bool
	profiles      string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("scalebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.keys, "keys", 100000, "live keys to bulk-load")
	fs.StringVar(&c.db, "db", "sqlite", "database: sqlite or postgres")
	fs.StringVar(&c.url, "url", getenv("ESPRESSO_TEST_DATABASE_URL"), "PostgreSQL URL (a fresh schema is made in it, dropped at the end unless -dir names one to keep)")
	fs.StringVar(&c.dir, "dir", "", "sqlite: data directory, kept and reused if already loaded; postgres: schema name, likewise (default: a throwaway one)")
	fs.StringVar(&c.bin, "bin", "", "espresso binary to run (default: built from this checkout)")
	fs.IntVar(&c.clients, "clients", 32, "concurrent rotating clients")
	fs.IntVar(&c.signInClients, "signin-clients", 32, "concurrent signing-in clients")
	fs.IntVar(&c.missClients, "miss-clients", 1, "clients sending unknown keys")
	fs.IntVar(&c.rounds, "rounds", 3, "interleaved rounds of raw commits, rotations and sign-ins")
	fs.DurationVar(&c.secs, "secs", 5*time.Second, "length of each measurement")
	fs.DurationVar(&c.soak, "soak", 0, "run a mixed load this long instead, reporting memory and size over time")
	fs.DurationVar(&c.every, "every", 30*time.Second, "soak: how often to report")
	fs.DurationVar(&c.retention, "event-retention", 0, "soak: the server's --event-retention (default: the server's)")
	fs.BoolVar(&c.loadOnly, "load-only", false, "only bulk-load (into -dir, for later runs)")
	fs.StringVar(&c.profiles, "cpuprofile", "", "write the server's CPU profile of each round's rotations and sign-ins into this `directory` (go tool pprof reads them)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.db != "sqlite" && c.db != "postgres":
		return c, fmt.Errorf("-db: %q is neither sqlite nor postgres", c.db)
	case c.db == "postgres" && c.url == "":
		return c, errors.New("-db postgres needs -url or ESPRESSO_TEST_DATABASE_URL")
	case c.keys < 0 || c.clients < 1 || c.signInClients < 1 || c.missClients < 1 || c.rounds < 1:
		return c, errors.New("-keys, -clients, -signin-clients, -miss-clients and -rounds must be positive")
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "scalebench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	db, err := openTarget(ctx, c, work)
	if err != nil {
		return err
	}
	defer db.cleanup()

	fmt.Fprintf(stdout, "scalebench: %s, %d keys, %d cores\n", c.db, c.keys, numCPU())
	began := time.Now()
	loaded, err := bulkLoad(ctx, db, c.keys)
	if err != nil {
		return fmt.Errorf("bulk load: %w", err)
	}
	if loaded > 0 {
		took := time.Since(began)
		fmt.Fprintf(stdout, "bulk load: %d accounts with a key in %v (%.0f/s)\n", loaded, took.Round(time.Millisecond), float64(loaded)/took.Seconds())
	}
	if c.loadOnly {
		return nil
	}
	// One key per rotating client, and one that nobody rotates.
	bench, err := benchAccounts(ctx, db, c.clients+1)
	if err != nil {
		return fmt.Errorf("bench accounts: %w", err)
	}

	raw, rows, err := minRawRead(ctx, db, 3)
	if err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	bin := c.bin
	if bin == "" {
		bin = filepath.Join(work, "espresso")
		if err := build(ctx, bin); err != nil {
			return err
		}
	}
	srv, err := startServer(ctx, bin, db, work, c.retention)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "ready: /readyz 200 after %v; raw read of the %d live keys' rows %v: ratio %.2f×\n",
		srv.ready.Round(time.Millisecond), rows, raw.Round(time.Millisecond), srv.ready.Seconds()/raw.Seconds())
	m, err := srv.waitLoaded(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memory once the replica is loaded (%v after start): RSS %s, Go heap in use %s (%.0f B per live key)\n",
		srv.sinceStart().Round(time.Millisecond), mib(m.rss), mib(m.heap), m.heap/float64(max(rows, 1)))

	if c.soak > 0 {
		return soak(ctx, c, db, srv, bench, stdout)
	}
	return measure(ctx, c, db, srv, bench, rows, raw, stdout)
}

func mib(b float64) string { return fmt.Sprintf("%.0f MiB", b/(1<<20)) }

// profile is where round r's CPU profile of phase goes, or "" for none.
func (c config) profile(phase string, r int) string {
	if c.profiles == "" {
		return ""
	}
	return filepath.Join(c.profiles, fmt.Sprintf("%s-%d.pprof", phase, r+1))
}
