package keys

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"

	"github.com/espresso-auth/espresso/apikey"
)

// record is one live key in a table: 56 bytes and no pointer, so that a
// million of them are a few large allocations the garbage collector never
// scans. The account, wallet and masked key are kept in compact binary form
// (see owner.go) and turned back into text when a key is verified.
type record struct {
	id      keyID
	account [16]byte // the account id, a UUID, in binary (or unused: see metaText)
	masked  [8]byte  // the key's four characters after its prefix and its last four
	created uint32   // unix seconds
	used    uint32   // unix seconds of the latest use known; atomic
	blob    uint32   // offset of the owner's bytes in the arena
	meta    uint32   // blob length and flags (meta*); atomic
}

// The bits of record.meta.
const (
	metaLen   = 1<<16 - 1 // the blob's length
	metaText  = 1 << 16   // the blob is the owner as text (see owner.go), not a wallet's raw bytes
	metaTest  = 1 << 17   // the key is a dk_test_ key
	metaDirty = 1 << 18   // used changed since the last flush
)

// keyID identifies a key in the replica: the first half of its SHA-256
// hash. Keys are random and issued by the server, so no two of them share
// it (by chance: 2^-128 for a pair), and presenting a key whose hash starts
// like a live key's without knowing that key is a 2^128 search per live
// key: as good a proof as the whole hash, in half the memory. Storage
// holds the whole hash.
type keyID [16]byte

func idOf(h *apikey.Hash) *keyID { return (*keyID)(h[:16]) }

// recordsPerChunk is the size of the table's record chunks: records never
// move when the table grows, and a chunk (224 KiB) is allocated at a time.
const recordsPerChunk = 1 << 12

// table is an open-addressing hash table of records: index maps a key hash
// to a record number (linear probing, no tombstones), records sit in
// fixed-size chunks, densely (a deleted record's place is taken by the last
// one), and the owners' bytes in an arena. A table is not safe for
// concurrent use, except that a record's used and meta fields may be
// changed atomically by readers.
type table struct {
	index  []uint32 // record number + 1, or 0 for an empty slot; len is a power of two
	chunks [][]record
	n      int
	arena  arena
}

func newTable(capacity int) *table {
	size := 16
	for size*3/4 < capacity {
		size *= 2
	}
	return &table{index: make([]uint32, size)}
}

func (t *table) rec(i uint32) *record {
	return &t.chunks[i/recordsPerChunk][i%recordsPerChunk]
}

// home is id's preferred slot: the hash is uniform, so its first bytes do.
func (t *table) home(id *keyID) int {
	return int(binary.LittleEndian.Uint64(id[:8]) & uint64(len(t.index)-1))
}

// slot returns the slot holding id, or -1.
func (t *table) slot(id *keyID) int {
	mask := len(t.index) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		n := t.index[i]
		if n == 0 {
			return -1
		}
		if t.rec(n-1).id == *id {
			return i
		}
	}
}

// get returns h's record, or nil. The pointer is valid until the table
// next changes.
func (t *table) get(h *apikey.Hash) *record {
	if i := t.slot(idOf(h)); i >= 0 {
		return t.rec(t.index[i] - 1)
	}
	return nil
}

// add stores h's record, made by fill, unless h is present already; it
// returns the record and whether it is new.
func (t *table) add(h *apikey.Hash, fill func(r *record)) (*record, bool) {
	if r := t.get(h); r != nil {
		return r, false
	}
	if (t.n+1)*4 > len(t.index)*3 {
		t.grow()
	}
	n := uint32(t.n)
	if int(n/recordsPerChunk) == len(t.chunks) {
		t.chunks = append(t.chunks, make([]record, recordsPerChunk))
	}
	r := t.rec(n)
	*r = record{id: *idOf(h)}
	fill(r)
	t.n++
	t.place(n)
	return r, true
}

// place puts record number n in the first free slot from its home.
func (t *table) place(n uint32) {
	mask := len(t.index) - 1
	i := t.home(&t.rec(n).id)
	for t.index[i] != 0 {
		i = (i + 1) & mask
	}
	t.index[i] = n + 1
}

func (t *table) grow() {
	t.index = make([]uint32, 2*len(t.index))
	for n := range uint32(t.n) {
		t.place(n)
	}
}

// remove deletes h's record, if present, and reports whether it was.
func (t *table) remove(h *apikey.Hash) bool {
	i := t.slot(idOf(h))
	if i < 0 {
		return false
	}
	n := t.index[i] - 1
	t.arena.release(t.rec(n))
	t.unslot(i)
	// Keep records dense: the last one moves into the hole.
	last := uint32(t.n - 1)
	if n != last {
		j := t.slot(&t.rec(last).id)
		*t.rec(n) = *t.rec(last)
		t.index[j] = n + 1
	}
	*t.rec(last) = record{}
	t.n--
	return true
}

// unslot empties slot i, shifting back the entries after it that would no
// longer be found (deletion without tombstones in linear probing).
func (t *table) unslot(i int) {
	mask := len(t.index) - 1
	for j := (i + 1) & mask; t.index[j] != 0; j = (j + 1) & mask {
		k := t.home(&t.rec(t.index[j] - 1).id)
		// The entry at j may move to i only if its home is not in (i, j].
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue
		}
		t.index[i] = t.index[j]
		i = j
	}
	t.index[i] = 0
}

// each calls fn with every record, in no particular order.
func (t *table) each(fn func(r *record)) {
	for n := range uint32(t.n) {
		fn(t.rec(n))
	}
}

// raiseUsed sets r's last use to s (unix seconds) if that is later, and
// returns the value it had.
func raiseUsed(r *record, s uint32) uint32 {
	for {
		old := atomic.LoadUint32(&r.used)
		if s <= old || atomic.CompareAndSwapUint32(&r.used, old, s) {
			return old
		}
	}
}

// markDirty sets r's dirty flag and reports whether it was clear.
func markDirty(r *record) bool {
	for {
		m := atomic.LoadUint32(&r.meta)
		if m&metaDirty != 0 {
			return false
		}
		if atomic.CompareAndSwapUint32(&r.meta, m, m|metaDirty) {
			return true
		}
	}
}

// clearDirty clears r's dirty flag.
func clearDirty(r *record) {
	for {
		m := atomic.LoadUint32(&r.meta)
		if m&metaDirty == 0 || atomic.CompareAndSwapUint32(&r.meta, m, m&^metaDirty) {
			return
		}
	}
}

// arenaChunk is the size of the arena's chunks; a blob never spans two.
const arenaChunk = 1 << 18

// arena holds the owners' bytes, appended in chunks. A released blob's
// place is reused by the next blob of the same length: a rotation releases
// the old key's wallet and stores the same wallet again.
type arena struct {
	chunks [][]byte
	free   map[uint16][]uint32 // offsets of released blobs, by length
}

// put stores b and returns its offset.
func (a *arena) put(b []byte) uint32 {
	if offs := a.free[uint16(len(b))]; len(offs) > 0 {
		off := offs[len(offs)-1]
		a.free[uint16(len(b))] = offs[:len(offs)-1]
		copy(a.bytes(off, len(b)), b)
		return off
	}
	if len(a.chunks) == 0 || len(a.chunks[len(a.chunks)-1])+len(b) > arenaChunk {
		a.chunks = append(a.chunks, make([]byte, 0, arenaChunk))
	}
	last := len(a.chunks) - 1
	off := uint32(last*arenaChunk + len(a.chunks[last]))
	a.chunks[last] = append(a.chunks[last], b...)
	return off
}

// bytes returns the n bytes at off, in place.
func (a *arena) bytes(off uint32, n int) []byte {
	c, i := off/arenaChunk, off%arenaChunk
	return a.chunks[c][i : int(i)+n : int(i)+n]
}

// release makes r's blob's place reusable.
func (a *arena) release(r *record) {
	n := uint16(r.meta & metaLen)
	if n == 0 {
		return
	}
	if a.free == nil {
		a.free = map[uint16][]uint32{}
	}
	a.free[n] = append(a.free[n], r.blob)
}

// blob returns r's owner bytes, in place.
func (t *table) blob(r *record) []byte {
	return t.arena.bytes(r.blob, int(atomic.LoadUint32(&r.meta)&metaLen))
}

// bytes returns the memory the table holds, give or take its small
// headers.
func (t *table) bytes() int {
	n := 4*len(t.index) + len(t.chunks)*recordsPerChunk*int(unsafe.Sizeof(record{})) + len(t.arena.chunks)*arenaChunk
	for _, offs := range t.arena.free {
		n += 4 * cap(offs)
	}
	return n
}
