package keys

import (
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// The compact form of a key's owner and masked form. Account ids are
// UUIDs (16 bytes rather than 36 characters), wallets are bech32 text that
// is 1.6 times as long as the address's raw bytes, and a masked key is its
// prefix, the ellipsis and 8 characters. Anything that does not have that
// exact shape (an id that is not a lower-case UUID, an address that is not
// canonical bech32, say from an older version) is kept as text instead, so
// that whatever storage holds is answered byte for byte.

// ellipsis separates the two ends of a masked key (see apikey.Key.Mask).
const ellipsis = "…"

// fill sets r's fields from k, storing its owner's bytes in a.
func fill(r *record, k *store.Key, a *arena) {
	p := pack(k)
	p.fill(r, a)
}

// packed is a key in its compact form, made without the replica's lock
// (parsing the wallet is most of the cost of adding a key).
type packed struct {
	rec  record // id, blob and the blob's length not set
	blob []byte
}

func pack(k *store.Key) packed {
	var p packed
	p.rec.created = seconds(k.CreatedAt)
	p.rec.used = seconds(k.LastUsedAt)
	raw, walletOK := compactWallet(k.WalletAddress)
	accountOK := compactUUID(&p.rec.account, k.AccountID)
	maskOK, test := compactMask(&p.rec.masked, k.Masked)
	if walletOK && accountOK && maskOK {
		p.blob = raw
		if test {
			p.rec.meta |= metaTest
		}
	} else {
		p.blob = textOwner(k)
		p.rec.meta |= metaText
	}
	return p
}

// fill sets r's fields, but its id, from p, storing the blob in a.
func (p *packed) fill(r *record, a *arena) {
	id := r.id
	*r = p.rec
	r.id = id
	r.blob = a.put(p.blob)
	r.meta |= uint32(len(p.blob))
}

// textOwner is the owner as text: the account id's length and the masked
// key's (a byte each), the account id, the masked key and the wallet. The
// lengths are capped (ids and masks are tens of bytes; ParseAddress allows
// 200) so that the blob's length fits metaLen.
func textOwner(k *store.Key) []byte {
	id, m, w := capped(k.AccountID, 255), capped(k.Masked, 255), capped(k.WalletAddress, 1000)
	b := make([]byte, 0, 2+len(id)+len(m)+len(w))
	b = append(b, byte(len(id)), byte(len(m)))
	b = append(b, id...)
	b = append(b, m...)
	return append(b, w...)
}

func capped(s string, n int) string { return s[:min(len(s), n)] }

// compactWallet returns the raw bytes of a wallet address whose text is
// exactly their canonical encoding.
func compactWallet(text string) ([]byte, bool) {
	a, err := wallet.ParseAddress(text)
	if err != nil || a.String() != text {
		return nil, false
	}
	return a.Bytes(), true
}

// compactUUID decodes a lower-case canonical UUID into u.
func compactUUID(u *[16]byte, id string) bool {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return false
	}
	hexOnly := id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36]
	if _, err := hex.Decode(u[:], []byte(hexOnly)); err != nil {
		return false
	}
	return hex.EncodeToString(u[:]) == hexOnly // lower case only
}

// compactMask keeps the 8 characters of a masked key of the form
// prefix + 4 + "…" + 4, and reports whether it is a test key.
func compactMask(m *[8]byte, masked string) (ok, test bool) {
	const n = 8 + 4 + len(ellipsis) + 4
	if len(masked) != n || masked[12:12+len(ellipsis)] != ellipsis {
		return false, false
	}
	switch masked[:8] {
	case apikey.Live.Prefix():
	case apikey.Test.Prefix():
		test = true
	default:
		return false, false
	}
	copy(m[:4], masked[8:12])
	copy(m[4:], masked[n-4:])
	return true, test
}

// owner is a key's text as Verify hands it out: account id and wallet (in
// an array, so that Info.OwnerHeaders can slice them into header values
// without allocating) and masked form, made once and shared.
type owner struct {
	id   keyID
	pair [2]string
	mask string
}

// render returns r's text.
func render(r *record, blob []byte) *owner {
	o := &owner{id: r.id}
	meta := atomic.LoadUint32(&r.meta)
	if meta&metaText != 0 {
		idLen, mLen := int(blob[0]), int(blob[1])
		s := string(blob[2:]) // one allocation, which the three strings share
		o.pair = [2]string{s[:idLen], s[idLen+mLen:]}
		o.mask = s[idLen : idLen+mLen]
		return o
	}
	a, err := wallet.AddressFromBytes(blob)
	w := a.String()
	if err != nil {
		w = "" // not reached: only valid addresses are stored as bytes
	}
	var id [36]byte
	hex.Encode(id[0:8], r.account[0:4])
	id[8] = '-'
	hex.Encode(id[9:13], r.account[4:6])
	id[13] = '-'
	hex.Encode(id[14:18], r.account[6:8])
	id[18] = '-'
	hex.Encode(id[19:23], r.account[8:10])
	id[23] = '-'
	hex.Encode(id[24:36], r.account[10:16])
	prefix := apikey.Live.Prefix()
	if meta&metaTest != 0 {
		prefix = apikey.Test.Prefix()
	}
	s := string(id[:]) + prefix + string(r.masked[:4]) + ellipsis + string(r.masked[4:])
	o.pair = [2]string{s[:36], w}
	o.mask = s[36:]
	return o
}

// ownerCacheSize is the number of rendered owners kept: verifying a key
// whose owner is cached allocates nothing. It is a 2-way set-associative
// cache indexed by the key's hash, so it holds the keys in recent use, up
// to about this many, at about 200 bytes each.
const ownerCacheSize = 1 << 15

// ownerCache keeps the owners of recently verified keys. An owner is only
// ever looked up for a key found live in the replica, and a key's owner
// never changes, so an entry can never be wrong, only absent.
type ownerCache struct {
	slots [ownerCacheSize]atomic.Pointer[owner]
}

// get returns r's owner, rendering and caching it if it is not cached: in
// the set's first way, the one there moving to the second (so a set keeps
// its two latest). Concurrent gets of one set may lose an entry, never
// return a wrong one: entries never change, and are matched by key.
func (c *ownerCache) get(r *record, t *table) *owner {
	i := 2 * ((int(r.id[8]) | int(r.id[9])<<8) % (ownerCacheSize / 2))
	first := c.slots[i].Load()
	if first != nil && first.id == r.id {
		return first
	}
	if o := c.slots[i+1].Load(); o != nil && o.id == r.id {
		return o
	}
	o := render(r, t.blob(r))
	if first != nil {
		c.slots[i+1].Store(first)
	}
	c.slots[i].Store(o)
	return o
}

// seconds returns t as unix seconds, 0 for the zero time. The replica
// keeps times to the second: the API shows them to the second, and
// storage keeps the exact creation time and the latest use it was told of.
func seconds(t time.Time) uint32 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return uint32(min(t.Unix(), 1<<32-1))
}

func fromSeconds(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}
