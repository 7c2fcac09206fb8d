package keys

import (
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// BenchmarkReplicaHeapPerKey reports the heap a replica holds per live key
// (the custom metric heap-B/key), for 100,000 keys loaded from a snapshot
// whose strings are the sizes the stores return: a UUID account id, a
// masked key and a 58-character wallet address (an enterprise address; a
// base address is 103). The snapshot itself is dropped before measuring,
// as a server drops it once loaded, so what remains is the replica's own.
func BenchmarkReplicaHeapPerKey(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		before := heapInUse()
		r := newReplica()
		r.reset(snapshotOf(n), int64(n))
		after := heapInUse()
		if r.size() != n {
			b.Fatalf("replica holds %d keys, want %d", r.size(), n)
		}
		b.ReportMetric(float64(after-before)/n, "heap-B/key")
		runtime.KeepAlive(r)
	}
}

// snapshotOf returns n live keys, each string allocated on its own as a
// database driver allocates them.
func snapshotOf(n int) []store.Key {
	keys := make([]store.Key, n)
	created := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	for i := range keys {
		var h apikey.Hash
		_, _ = rand.Read(h[:])
		keys[i] = store.Key{
			AccountID:     fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			WalletAddress: fmt.Sprintf("addr1v%052d", i),
			Hash:          h,
			Masked:        fmt.Sprintf("dk_live_%04d…%04d", i%10000, i%10000),
			CreatedAt:     created,
		}
	}
	return keys
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
