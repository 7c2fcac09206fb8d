package keys

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/postgres"
	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// BenchmarkStartup creates N live keys through the service
// (ESPRESSO_BENCH_KEYS, default 20,000) on SQLite and, when
// ESPRESSO_TEST_DATABASE_URL is set, on PostgreSQL, then measures, in the
// same run and against the time the same driver takes to read every live
// key's row in one call (Store.Snapshot, the baseline):
//
//   - ready-ratio: a server's start-up before /readyz answers 200 (New,
//     Load, Ready);
//   - loaded-ratio: until the whole replica is in memory (LoadAll);
//   - heap-B/key: the Go heap the loaded replica holds per key.
func BenchmarkStartup(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("ESPRESSO_BENCH_KEYS")); err == nil && v > 0 {
		n = v
	}
	b.Run("sqlite", func(b *testing.B) {
		st, err := sqlite.Open(context.Background(), b.TempDir(), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchStartup(b, st, n)
	})
	b.Run("postgres", func(b *testing.B) {
		st, err := postgres.Open(context.Background(), pgtest.URL(b), postgres.Options{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchStartup(b, st, n)
	})
}

func benchStartup(b *testing.B, st *store.Store, n int) {
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	createKeys(b, New(st, Options{Logger: quiet()}), n)
	var raw, ready, loaded time.Duration
	var heap float64
	for b.Loop() {
		began := time.Now()
		keys, _, err := st.Snapshot(ctx)
		if err != nil || len(keys) != n {
			b.Fatalf("Snapshot: %d keys, %v", len(keys), err)
		}
		raw += time.Since(began)
		keys = nil

		began = time.Now()
		s := New(st, Options{Logger: quiet()})
		if err := s.Load(ctx); err != nil {
			b.Fatal(err)
		}
		if err := s.Ready(ctx); err != nil {
			b.Fatal(err)
		}
		ready += time.Since(began)

		before := heapInUse()
		began = time.Now()
		s = New(st, Options{Logger: quiet()})
		if err := s.LoadAll(ctx); err != nil {
			b.Fatal(err)
		}
		loaded += time.Since(began)
		if s.Stats().Keys != n {
			b.Fatalf("loaded %d keys, want %d", s.Stats().Keys, n)
		}
		heap += float64(heapInUse()-before) / float64(n)
		runtime.KeepAlive(s)
	}
	runs := float64(b.N)
	b.ReportMetric(raw.Seconds()*1000/runs, "raw-ms")
	b.ReportMetric(ready.Seconds()/raw.Seconds(), "ready-ratio")
	b.ReportMetric(loaded.Seconds()/raw.Seconds(), "loaded-ratio")
	b.ReportMetric(heap/runs, "heap-B/key")
}
