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
	if r.has(k1) {
		t.Fatal("feed replay of an older issue brought a locally revoked key back")
	}
	if !r.has(k2) {
		t.Fatal("locally issued key not live")
	}
	r.applyFeed([]store.Event{revoked(2, k1), issued(3, k2)})
	if len(r.tomb) != 0 {
		t.Errorf("tombstones left after the feed caught up: %d", len(r.tomb))
	}
	if r.has(k1) || !r.has(k2) || r.position() != 3 {
		t.Errorf("after catch-up: k1 live %v, k2 live %v, seq %d", r.has(k1), r.has(k2), r.position())
	}
}

func TestReplica_LocalEventsTheFeedAlreadyPassedAreIgnored(t *testing.T) {
	r := newReplica()
	k := hashOf(1)
	// Another node revoked k (seq 2) and the feed saw both events before
	// this node's delayed local apply of the issue at seq 1.
	r.applyFeed([]store.Event{issued(1, k), revoked(2, k)})
	r.applyLocal([]store.Event{issued(1, k)})
	if r.has(k) {
		t.Fatal("a stale local apply resurrected a key revoked elsewhere")
	}
}

// loaded returns a complete replica that has applied events.
func loaded(events ...store.Event) *replica {
	r := newReplica()
	r.beginLoad(0, true)
	r.applyFeed(events)
	r.finishLoad()
	return r
}

func TestReplica_ReloadKeepsLocalChangesNewerThanItsStart(t *testing.T) {
	old, fresh, gone := hashOf(1), hashOf(2), hashOf(3)
	r := loaded(issued(1, old), issued(2, gone))
	used := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.use(&old, used, true)
	r.applyLocal([]store.Event{issued(5, fresh), revoked(6, gone)})

	// A reload from seq 4, whose page was read before this node's later
	// changes committed; cur serves meanwhile.
	r.beginLoad(4, false)
	r.addPage([]store.Key{{AccountID: "a", Hash: old}, {AccountID: "b", Hash: gone}})
	if !r.has(fresh) || r.has(gone) || !r.isComplete() {
		t.Error("the replica serving during a reload lost local changes")
	}
	r.applyFeed([]store.Event{revoked(3, hashOf(9)), issued(5, fresh), revoked(6, gone)})
	r.finishLoad()
	if !r.has(fresh) {
		t.Error("key issued locally after the load began was dropped")
	}
	if r.has(gone) {
		t.Error("key revoked locally after the load began came back")
	}
	if !r.has(old) || !r.lastUsed(old).Equal(used) {
		t.Errorf("usage seen by this node was lost on reload: %v", r.lastUsed(old))
	}
	if len(r.tomb) != 0 || r.position() != 6 {
		t.Errorf("after the reload: %d tombstones, position %d", len(r.tomb), r.position())
	}
}

func TestReplica_APageNeverBringsBackAKeyRevokedDuringTheLoad(t *testing.T) {
	k, other := hashOf(1), hashOf(2)
	r := newReplica()
	r.beginLoad(10, true)
	if r.isComplete() {
		t.Fatal("a replica loading from scratch says it is complete")
	}
	// The page was read before k's revocation committed, and is added
	// after the feed applied it.
	r.applyFeed([]store.Event{revoked(11, k)})
	r.addPage([]store.Key{{AccountID: "a", Hash: k}, {AccountID: "b", Hash: other}})
	if r.has(k) || !r.has(other) {
		t.Errorf("after the page: revoked key live %v, other key live %v", r.has(k), r.has(other))
	}
	r.finishLoad()
	if !r.isComplete() || r.has(k) || !r.has(other) || r.position() != 11 {
		t.Error("the finished load does not hold exactly the live keys")
	}
}

func TestReplica_AFreshLoadForgetsKeysTheDatabaseNoLongerHas(t *testing.T) {
	future, kept := hashOf(1), hashOf(2)
	r := loaded(issued(1, kept), issued(2, future))
	// The database went back to seq 1: it has kept, not future.
	r.beginLoad(1, false)
	if r.isComplete() || r.has(future) || r.position() != 1 {
		t.Fatal("a load from a feed behind the replica kept keys from the future")
	}
	r.addPage([]store.Key{{AccountID: "a", Hash: kept}})
	r.finishLoad()
	if !r.has(kept) || r.has(future) {
		t.Error("the reload does not hold exactly the database's live keys")
	}
}
