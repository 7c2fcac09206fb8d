package keys

import (
	"context"
	"crypto/ed25519"
	"io"
	"log/slog"
	"testing"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// TestVerify_AnswersTheOwnerFromMemoryWithoutAllocating checks that a
// replica loaded from a snapshot knows each key's wallet, and that Verify
// and the owner's header values allocate nothing: the forward-auth endpoint
// calls them on every request a gateway forwards.
func TestVerify_AnswersTheOwnerFromMemoryWithoutAllocating(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub, _, _ := ed25519.GenerateKey(nil)
	addr := wallet.NewEnterpriseAddress(pub, wallet.Mainnet).String()
	issued, err := New(st, Options{Env: apikey.Live, Logger: log}).CreateAccount(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if issued.WalletAddress != addr {
		t.Errorf("CreateAccount's key: wallet %q, want %q", issued.WalletAddress, addr)
	}
	s := New(st, Options{Env: apikey.Live, Logger: log})
	if err := s.LoadAll(ctx); err != nil {
		t.Fatal(err)
	}
	raw := issued.Key.String()
	info, err := s.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	id, w := info.OwnerHeaders()
	if info.AccountID != issued.AccountID || info.WalletAddress != addr || len(id) != 1 || id[0] != issued.AccountID ||
		len(w) != 1 || w[0] != addr {
		t.Errorf("Verify: account %q wallet %q, headers %q %q; want %q and %q", info.AccountID, info.WalletAddress, id, w,
			issued.AccountID, addr)
	}
	if cap(id) != 1 || cap(w) != 1 {
		t.Errorf("header values have capacity %d and %d: an append would write into the replica", cap(id), cap(w))
	}
	// AllocsPerRun counts the whole process's allocations, so another
	// goroutine's can only add to the count: the least of a few
	// measurements is the code's own.
	least := 1e9
	for range 5 {
		least = min(least, testing.AllocsPerRun(1000, func() {
			info, err := s.Verify(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			id, w = info.OwnerHeaders()
		}))
	}
	if least != 0 {
		t.Errorf("Verify and OwnerHeaders allocate %v times per call, want 0", least)
	}
}
