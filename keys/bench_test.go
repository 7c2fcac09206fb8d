package keys

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"testing"

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
