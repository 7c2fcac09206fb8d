package keys

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// BenchmarkVerifyKey measures the hot path: format and checksum, SHA-256,
// replica lookup and usage mark, over a replica of 10,000 live keys.
func BenchmarkVerifyKey(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir(), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	s := New(st, Options{Env: apikey.Live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var keys []string
	for i := range 10_000 {
		pub, _, _ := ed25519.GenerateKey(nil)
		issued, err := s.CreateAccount(ctx, wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String())
		if err != nil {
			b.Fatal(i, err)
		}
		keys = append(keys, issued.Key.String())
	}
	// A fresh service, as a server starts: its replica comes from a
	// snapshot, not from the local applies above.
	s = New(st, Options{Env: apikey.Live, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := s.LoadAll(ctx); err != nil {
		b.Fatal(err)
	}
	if n := s.rep.size(); n != len(keys) {
		b.Fatalf("replica has %d keys, want %d", n, len(keys))
	}
	b.Run(fmt.Sprintf("keys=%d", len(keys)), func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Verify(ctx, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// BenchmarkVerifyReplicaSize measures Verify against replicas of 10, 10,000
// and 1,000,000 live keys (loaded in pages, as a server loads them),
// presenting 10 keys in turn and, for the larger ones, 10,000 keys spread
// over the whole replica: the cost must not grow with the replica, and the
// keys in use allocate nothing once their owners are cached (the cache holds
// about 30,000: a few keys of a set of 10,000 are rendered again now and
// then, hence a few bytes per call).
func BenchmarkVerifyReplicaSize(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 10_000, 1_000_000} {
		raws := make([]string, n)
		s := New(nil, Options{Env: apikey.Live, Logger: quiet()})
		s.rep.beginLoad(0, true)
		const page = 10_000
		for first := 0; first < n; first += page {
			keys := snapshotOf(first, min(page, n-first), false)
			for i := range keys {
				k, err := apikey.New(apikey.Live)
				if err != nil {
					b.Fatal(err)
				}
				raws[first+i], keys[i].Hash, keys[i].Masked = k.String(), k.Hash(), k.Mask()
			}
			s.rep.addPage(keys)
		}
		s.rep.finishLoad()
		raise(&s.feed.synced, time.Now().Add(time.Hour).UnixMicro()) // fresh throughout
		sets := map[string][]string{"presented=10": raws[:10]}
		if n >= 10_000 {
			spread := make([]string, 0, 10_000)
			for i := 0; i < n; i += n / 10_000 {
				spread = append(spread, raws[i])
			}
			sets["presented=10000-spread"] = spread
		}
		for name, presented := range sets {
			b.Run(fmt.Sprintf("keys=%d/%s", n, name), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := s.Verify(ctx, presented[i%len(presented)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
