// Package apikey is the API key format: generation, parsing, checksum,
// hashing and masking. It is pure (no I/O beyond crypto/rand) and depends on
// nothing else in espresso.
//
// A key is a prefix naming its environment, 30 base62 characters of
// crypto/rand (178 bits), and a 6-character base62 CRC32 of everything before
// it, e.g.
//
//	dk_live_ + 0Ab3dEf…(30) + 1x2YzQ(6)  → 44 characters
//
// The checksum lets Parse refuse a mistyped or truncated key without touching
// storage, and lets secret scanners recognise the format with few false
// positives.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
)

// Env is the environment a key belongs to; it is written in the key's prefix
// so a testnet key can never be used on a mainnet server.
type Env uint8

// The environments.
const (
	Live Env = iota + 1 // dk_live_, Cardano mainnet
	Test                // dk_test_, a Cardano testnet
)

const (
	livePrefix  = "dk_live_"
	testPrefix  = "dk_test_"
	prefixLen   = 8
	randomLen   = 30
	checksumLen = 6
	// Len is the length of every key in bytes.
	Len = prefixLen + randomLen + checksumLen
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed is returned by Parse for anything that is not a well-formed
// key of the expected environment with a correct checksum.
var ErrMalformed = errors.New("apikey: malformed key")

// Prefix returns the prefix keys of env start with.
func (e Env) Prefix() string {
	if e == Test {
		return testPrefix
	}
	return livePrefix
}

// Hash is the stored and looked-up form of a key: SHA-256 of its text. Keys
// carry 178 random bits, so a fast hash is as safe as a slow one here and
// costs a fraction of a microsecond per request.
type Hash [sha256.Size]byte

// Key is a syntactically valid API key. Its String is the secret itself:
// never log it, store it or put it in an error; use Mask instead.
type Key struct{ text string }

// New returns a fresh random key of env. It fails only if crypto/rand does.
func New(env Env) (Key, error) {
	buf := make([]byte, Len)
	copy(buf, env.Prefix())
	random := buf[prefixLen : prefixLen+randomLen]
	// Rejection sampling keeps every character uniform: 248 = 4*62.
	var pool [64]byte
	for i := 0; i < randomLen; {
		if _, err := rand.Read(pool[:]); err != nil {
			return Key{}, err
		}
		for _, b := range pool {
			if b < 248 && i < randomLen {
				random[i] = alphabet[b%62]
				i++
			}
		}
	}
	putChecksum(buf[prefixLen+randomLen:], checksum(string(buf[:prefixLen+randomLen])))
	return Key{text: string(buf)}, nil
}

// Parse checks that s is a key of env: length, prefix, alphabet and checksum.
// It never allocates and never reads storage, so it is safe to run on every
// hostile header before anything else. Every failure is ErrMalformed.
func Parse(s string, env Env) (Key, error) {
	if !HasShape(s, env) {
		return Key{}, ErrMalformed
	}
	for i := prefixLen; i < Len; i++ {
		if !isBase62(s[i]) {
			return Key{}, ErrMalformed
		}
	}
	var want [checksumLen]byte
	putChecksum(want[:], checksum(s[:prefixLen+randomLen]))
	if string(want[:]) != s[prefixLen+randomLen:] {
		return Key{}, ErrMalformed
	}
	return Key{text: s}, nil
}

// String returns the key itself. Only the response that creates a key may
// show it.
func (k Key) String() string { return k.text }

// Env reports the environment named by the key's prefix.
func (k Key) Env() Env {
	if len(k.text) >= prefixLen && k.text[:prefixLen] == testPrefix {
		return Test
	}
	return Live
}

// Hash returns the storage form of k.
func (k Key) Hash() Hash { return Sum(k.text) }

// Sum returns the storage form of text, which need not be a valid key: a
// verifier that keeps the hashes of issued keys can look text up first and
// leave the format and checksum check (Parse) to the texts it does not find.
func Sum(text string) Hash {
	if len(text) <= Len {
		var b [Len]byte // a stack copy: no allocation per request
		return sha256.Sum256(b[:copy(b[:], text)])
	}
	return sha256.Sum256([]byte(text))
}

// HasShape reports whether s has a key's length and env's prefix: the
// cheapest check, before Sum.
func HasShape(s string, env Env) bool { return len(s) == Len && s[:prefixLen] == env.Prefix() }

// Mask returns a form of k that is safe to log and show: the prefix, the first
// four random characters and the last four characters, e.g.
// "dk_live_Ab3d…9xYz". It reveals 48 of the key's 178 random bits at most.
func (k Key) Mask() string {
	if len(k.text) != Len {
		return ""
	}
	return k.text[:prefixLen+4] + "…" + k.text[Len-4:]
}

// checksum is CRC32-IEEE (crc32.ChecksumIEEE) computed over a string in
// place: the library function takes a []byte that escapes, which would cost
// an allocation on every request.
func checksum(s string) uint32 {
	crc := ^uint32(0)
	for i := 0; i < len(s); i++ {
		crc = crc32.IEEETable[byte(crc)^s[i]] ^ crc>>8
	}
	return ^crc
}

// putChecksum writes c in base62, most significant digit first, zero-padded
// to len(dst) (62^6 > 2^32, so six digits always suffice).
func putChecksum(dst []byte, c uint32) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = alphabet[c%62]
		c /= 62
	}
}

func isBase62(c byte) bool {
	// Unsigned wrap-around makes each range one comparison.
	return c-'0' < 10 || c-'A' < 26 || c-'a' < 26
}
