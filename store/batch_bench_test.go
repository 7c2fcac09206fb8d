package store_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/espresso-auth/espresso/store"
)

// BenchmarkRotateKey_Concurrent rotates, from 32 goroutines, each its own
// account's key in a chain, on each backend: what group commit is for. The
// raw commit rate to compare with is scripts/scalebench's.
func BenchmarkRotateKey_Concurrent(b *testing.B) {
	for name, open := range backends {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			const clients = 32
			accts := make([]store.Account, clients)
			for i := range accts {
				k := newKey(b)
				a, _, err := s.CreateAccount(b.Context(), newWallet(), &k)
				if err != nil {
					b.Fatal(err)
				}
				accts[i] = a
			}
			var next atomic.Int64
			b.ResetTimer()
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						if _, _, err := s.RotateKey(b.Context(), accts[i].ID, nil, newKey(b)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// BenchmarkRotateKey_OneClient rotates one key in a chain from one
// goroutine: a lone writer is a batch of one, and must be no slower than a
// write without group commit.
func BenchmarkRotateKey_OneClient(b *testing.B) {
	for name, open := range backends {
		b.Run(name, func(b *testing.B) {
			s := open(b)
			first := newKey(b)
			a, _, err := s.CreateAccount(b.Context(), newWallet(), &first)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, _, err := s.RotateKey(b.Context(), a.ID, nil, newKey(b)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
