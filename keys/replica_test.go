package keys

import (
	"testing"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

func hashOf(b byte) apikey.Hash { return apikey.Hash{b} }

func issued(seq int64, h apikey.Hash) store.Event {
	return store.Event{Seq: seq, Kind: store.KeyIssued, Key: store.Key{AccountID: "a", Hash: h, Masked: "m"}}
}

func revoked(seq int64, h apikey.Hash) store.Event {
	return store.Event{Seq: seq, Kind: store.KeyRevoked, Key: store.Key{AccountID: "a", Hash: h}}
}

func TestReplica_LocalRevocationAheadOfTheFeedIsNotUndoneByAnOlderIssue(t *testing.T) {
	r := newReplica()
	k1, k2 := hashOf(1), hashOf(2)
	// This node rotates k1 -> k2 at seqs 2 and 3 before its feed has read
	// seq 1 (k1 issued).
	r.applyLocal([]store.Event{revoked(2, k1), issued(3, k2)})
	r.applyFeed([]store.Event{issued(1, k1)})
	if r.lookup(k1) != nil {
		t.Fatal("feed replay of an older issue brought a locally revoked key back")
	}
	if r.lookup(k2) == nil {
		t.Fatal("locally issued key not live")
	}
	r.applyFeed([]store.Event{revoked(2, k1), issued(3, k2)})
	if len(r.tomb) != 0 {
		t.Errorf("tombstones left after the feed caught up: %d", len(r.tomb))
	}
	if r.lookup(k1) != nil || r.lookup(k2) == nil || r.position() != 3 {
		t.Errorf("after catch-up: k1 live %v, k2 live %v, seq %d", r.lookup(k1) != nil, r.lookup(k2) != nil, r.position())
	}
}

func TestReplica_LocalEventsTheFeedAlreadyPassedAreIgnored(t *testing.T) {
	r := newReplica()
	k := hashOf(1)
	// Another node revoked k (seq 2) and the feed saw both events before
	// this node's delayed local apply of the issue at seq 1.
	r.applyFeed([]store.Event{issued(1, k), revoked(2, k)})
	r.applyLocal([]store.Event{issued(1, k)})
	if r.lookup(k) != nil {
		t.Fatal("a stale local apply resurrected a key revoked elsewhere")
	}
}

func TestReplica_ResetKeepsLocalChangesNewerThanTheSnapshot(t *testing.T) {
	r := newReplica()
	old, fresh, gone := hashOf(1), hashOf(2), hashOf(3)
	r.applyFeed([]store.Event{issued(1, old), issued(2, gone)})
	r.lookup(old).lastUsed.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro())
	r.applyLocal([]store.Event{issued(5, fresh), revoked(6, gone)})

	// A snapshot taken at seq 4: it has old and gone, not this node's
	// later changes.
	r.reset([]store.Key{{AccountID: "a", Hash: old}, {AccountID: "a", Hash: gone}}, 4)

	if r.lookup(fresh) == nil {
		t.Error("key issued locally after the snapshot was dropped")
	}
	if r.lookup(gone) != nil {
		t.Error("key revoked locally after the snapshot came back")
	}
	e := r.lookup(old)
	if e == nil || e.lastUsed.Load() == 0 {
		t.Error("usage seen by this node was lost on reset")
	}
	r.reset([]store.Key{{AccountID: "a", Hash: fresh}}, 6)
	if r.lookup(old) != nil || r.lookup(gone) != nil || r.lookup(fresh) == nil || len(r.tomb) != 0 {
		t.Error("a snapshot past every local change did not become the whole truth")
	}
}
