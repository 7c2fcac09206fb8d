package keys

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// BenchmarkReplicaHeapPerKey reports the Go heap a replica holds per live
// key (the custom metric heap-B/key; table-B/key is what Stats.Bytes
// estimates), for 1,000,000 keys loaded in pages as a server loads them,
// with the strings the stores return: a UUID account id, a masked key and
// a wallet address, enterprise (58 characters, 29 bytes raw) or base (103
// characters, 57 bytes). Each page is dropped once added, as a server
// drops it, so what remains is the replica's own.
func BenchmarkReplicaHeapPerKey(b *testing.B) {
	const n, page = 1_000_000, 10_000
	for _, kind := range []string{"enterprise", "base"} {
		b.Run("wallet="+kind, func(b *testing.B) {
			for b.Loop() {
				before := heapInUse()
				r := newReplica()
				r.beginLoad(int64(n), true)
				for i := 0; i < n; i += page {
					r.addPage(snapshotOf(i, page, kind == "base"))
				}
				r.finishLoad()
				after := heapInUse()
				if r.size() != n {
					b.Fatalf("replica holds %d keys, want %d", r.size(), n)
				}
				b.ReportMetric(float64(after-before)/n, "heap-B/key")
				b.ReportMetric(float64(r.bytes())/n, "table-B/key")
				runtime.KeepAlive(r)
			}
		})
	}
}

// snapshotOf returns n live keys numbered from first, each string allocated
// on its own as a database driver allocates them.
func snapshotOf(first, n int, base bool) []store.Key {
	keys := make([]store.Key, n)
	created := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	for i := range keys {
		var h apikey.Hash
		_, _ = rand.Read(h[:])
		keys[i] = store.Key{
			AccountID:     store.NewID(),
			WalletAddress: testWallet(first+i, base),
			Hash:          h,
			Masked:        fmt.Sprintf("dk_live_%04d…%04d", i%10000, i%10000),
			CreatedAt:     created,
		}
	}
	return keys
}

// testWallet returns a valid address, different for each i: an
// enterprise one, or a base one, built from raw bytes.
func testWallet(i int, base bool) string {
	raw := make([]byte, 29, 57)
	raw[0] = 0x61 // enterprise address, key hash, mainnet
	binary.BigEndian.PutUint64(raw[1:], uint64(i))
	if base {
		raw[0] = 0x01 // base address, key hash and key hash, mainnet
		raw = append(raw, raw[1:29]...)
	}
	a, err := wallet.AddressFromBytes(raw)
	if err != nil {
		panic(err)
	}
	return a.String()
}

// heapInUse returns the bytes of live heap objects after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
