package keys

import (
	"testing"
	"time"

	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// TestVerify_AKeyUsedWhileTheReplicaLoadsHasItsUseReportedAndWritten uses a
// key on a node whose replica has not loaded it yet (Load read the feed's
// head; no page came): the second use reports the first, the first use
// after the page came reports the second, and the flush writes the last to
// storage, as for a key the replica always held.
func TestVerify_AKeyUsedWhileTheReplicaLoadsHasItsUseReportedAndWritten(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	issued := createKeys(t, New(st, Options{Logger: quiet()}), 1)[0]
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	s := New(st, Options{Logger: quiet(), Clock: clk})
	if err := s.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, err := s.Verify(t.Context(), issued.Key.String())
	if err != nil {
		t.Fatal(err)
	}
	if !first.LastUsedAt.IsZero() {
		t.Fatalf("first use reports a previous one at %v", first.LastUsedAt)
	}
	usedAt := clk.Now()
	clk.Advance(3 * time.Second)
	second, err := s.Verify(t.Context(), issued.Key.String())
	if err != nil {
		t.Fatal(err)
	}
	if !second.LastUsedAt.Equal(usedAt) {
		t.Errorf("second use reports the previous one at %v, want %v", second.LastUsedAt, usedAt)
	}
	if s.rep.isComplete() || s.rep.has(issued.Hash) {
		t.Fatal("the replica loaded meanwhile: the test shows nothing")
	}
	if err := s.LoadAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	usedAt = clk.Now()
	clk.Advance(3 * time.Second)
	third, err := s.Verify(t.Context(), issued.Key.String())
	if err != nil {
		t.Fatal(err)
	}
	if !third.LastUsedAt.Equal(usedAt) {
		t.Errorf("the first use once loaded reports the previous one at %v, want %v", third.LastUsedAt, usedAt)
	}
	s.flushUsage(t.Context())
	stored, err := st.LiveKey(t.Context(), issued.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.LastUsedAt.Equal(clk.Now()) {
		t.Errorf("storage has the key last used at %v, want %v", stored.LastUsedAt, clk.Now())
	}
}
