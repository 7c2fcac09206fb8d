package keys

import (
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// TestTable_AddsAndRemovesLikeAMap drives a table and a map with the same
// random additions and removals (removals shift entries back and move the
// last record) and checks after each step that they hold the same keys.
func TestTable_AddsAndRemovesLikeAMap(t *testing.T) {
	tab := newTable(0)
	want := map[apikey.Hash]bool{}
	var hashes []apikey.Hash
	rng := mrand.New(mrand.NewPCG(1, 2))
	for step := range 20_000 {
		if len(hashes) == 0 || rng.IntN(3) > 0 {
			var h apikey.Hash
			_, _ = rand.Read(h[:])
			if step%7 == 0 {
				h[0], h[1] = 0, 0 // crowd a few home slots: long probe runs
			}
			k := store.Key{AccountID: store.NewID(), WalletAddress: testWallet(step%50, step%2 == 0), Hash: h,
				Masked: "dk_live_Ab3d…9xYz"}
			if _, added := tab.add(&h, func(r *record) { fill(r, &k, &tab.arena) }); !added {
				t.Fatalf("step %d: a new key was found present", step)
			}
			want[h] = true
			hashes = append(hashes, h)
		} else {
			i := rng.IntN(len(hashes))
			h := hashes[i]
			hashes[i] = hashes[len(hashes)-1]
			hashes = hashes[:len(hashes)-1]
			if !tab.remove(&h) {
				t.Fatalf("step %d: a live key could not be removed", step)
			}
			delete(want, h)
			if tab.remove(&h) || tab.get(&h) != nil {
				t.Fatalf("step %d: a removed key is still there", step)
			}
		}
		if step%500 == 0 || step == 19_999 {
			if tab.n != len(want) {
				t.Fatalf("step %d: table holds %d keys, want %d", step, tab.n, len(want))
			}
			for h := range want {
				if r := tab.get(&h); r == nil || r.id != *idOf(&h) {
					t.Fatalf("step %d: a live key is not found", step)
				}
			}
		}
	}
}

// TestOwner_RenderGivesBackWhatStorageHolds checks the compact form both
// ways, and the text form kept for anything that does not fit it.
func TestOwner_RenderGivesBackWhatStorageHolds(t *testing.T) {
	created := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		key     store.Key
		compact bool
	}{
		{"enterprise", store.Key{AccountID: store.NewID(), WalletAddress: testWallet(1, false), Masked: "dk_live_Ab3d…9xYz"}, true},
		{"base, test key", store.Key{AccountID: store.NewID(), WalletAddress: testWallet(2, true), Masked: "dk_test_0000…zzzz"}, true},
		{"upper-case UUID", store.Key{AccountID: "0A1B2C3D-0000-4000-8000-000000000000", WalletAddress: testWallet(3, false), Masked: "dk_live_Ab3d…9xYz"}, false},
		{"not an address", store.Key{AccountID: store.NewID(), WalletAddress: "addr_test1hang", Masked: "dk_live_Ab3d…9xYz"}, false},
		{"no wallet (account erased)", store.Key{AccountID: "acct", Masked: "m"}, false},
		{"odd mask", store.Key{AccountID: store.NewID(), WalletAddress: testWallet(4, false), Masked: "dk_live_…"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := c.key
			k.CreatedAt = created
			_, _ = rand.Read(k.Hash[:])
			tab := newTable(0)
			r, _ := tab.add(&k.Hash, func(r *record) { fill(r, &k, &tab.arena) })
			if compact := r.meta&metaText == 0; compact != c.compact {
				t.Errorf("kept compact: %v, want %v", compact, c.compact)
			}
			o := render(r, tab.blob(r))
			if o.pair[0] != k.AccountID || o.pair[1] != k.WalletAddress || o.mask != k.Masked {
				t.Errorf("rendered %q %q %q, want %q %q %q", o.pair[0], o.pair[1], o.mask, k.AccountID, k.WalletAddress, k.Masked)
			}
			if !fromSeconds(r.created).Equal(created) {
				t.Errorf("created %v, want %v", fromSeconds(r.created), created)
			}
		})
	}
}
