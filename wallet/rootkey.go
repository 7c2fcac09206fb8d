package wallet

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"io"
)

// RootKeySize is the size of a Cardano root private key.
const RootKeySize = 96

// RootKey is a Cardano wallet's root private key, a BIP32-Ed25519 extended
// private key: the 64-byte extended Ed25519 scalar kL‖kR, then the 32-byte
// chain code. It is what the platform's clients load as a bot's operation
// key, in bech32 with the human-readable part "xprv" (Bech32).
//
// A RootKey is a secret: it has no String method, so that printing one by
// mistake shows bytes nobody can paste, not a key a wallet would load.
type RootKey [RootKeySize]byte

// ErrInvalidRootKey is the reason ParseRootKey and NewRootKey refuse their
// input: not the bech32 "xprv" form of 96 bytes whose scalar is clamped as
// BIP32-Ed25519 requires, or entropy of a size no recovery phrase has.
var ErrInvalidRootKey = errors.New("wallet: invalid root key")

// rootKeyHRP is the human-readable part of a root key in bech32, as
// Cardano's serialisation libraries (Bip32PrivateKey.to_bech32) write it.
const rootKeyHRP = "xprv"

// maxRootKeyLen is the length of a root key in bech32: "xprv", "1", 154
// characters of data (96 bytes of 8 bits in 5-bit groups) and 6 of checksum.
// BIP-173's 90-character limit does not apply (CIP-5 lifts it).
const maxRootKeyLen = len(rootKeyHRP) + 1 + (RootKeySize*8+4)/5 + 6

// NewRootKey derives a wallet's root key from the entropy of its recovery
// phrase (16 to 32 bytes, a multiple of 4: 12 to 24 words) as Icarus wallets
// do (CIP-3), with no passphrase: PBKDF2-HMAC-SHA512 of the empty password,
// the entropy as salt, 4096 iterations, 96 bytes, then the scalar clamped.
// The same entropy always gives the same key, the one every Shelley wallet
// restores from that phrase. ErrInvalidRootKey for any other entropy size.
func NewRootKey(entropy []byte) (RootKey, error) {
	if len(entropy) < 16 || len(entropy) > 32 || len(entropy)%4 != 0 {
		return RootKey{}, ErrInvalidRootKey
	}
	b, err := pbkdf2.Key(sha512.New, "", entropy, 4096, RootKeySize)
	if err != nil {
		return RootKey{}, err
	}
	var k RootKey
	copy(k[:], b)
	clear(b)
	// Ed25519-BIP32 needs kL to be a multiple of the cofactor (the low 3
	// bits clear) with the highest bit clear and the next one set, like an
	// Ed25519 scalar, and its third-highest bit clear, so that derived
	// children stay in range.
	k[0] &= 0b1111_1000
	k[31] &= 0b0001_1111
	k[31] |= 0b0100_0000
	return k, nil
}

// GenerateRootKey returns the root key of 32 fresh bytes of entropy (a
// 24-word recovery phrase's worth) read from r, or from crypto/rand when r
// is nil.
func GenerateRootKey(r io.Reader) (RootKey, error) {
	var entropy [32]byte
	var err error
	if r == nil {
		_, err = rand.Read(entropy[:])
	} else {
		_, err = io.ReadFull(r, entropy[:])
	}
	if err != nil {
		return RootKey{}, err
	}
	defer clear(entropy[:])
	return NewRootKey(entropy[:])
}

// Bech32 returns the key as the platform's clients and Cardano's
// serialisation libraries read it: bech32 with the human-readable part
// "xprv" ("xprv1…", 165 characters).
func (k RootKey) Bech32() string {
	data, _ := convertBits(k[:], 8, 5, true) // 8-bit groups always regroup
	return bech32Encode(rootKeyHRP, data)
}

// ParseRootKey reads a root key in the form Bech32 writes (upper case is
// accepted too, as bech32 allows). ErrInvalidRootKey unless it is bech32
// with the "xprv" part, 96 bytes, and a scalar clamped as NewRootKey
// clamps it (which every BIP32-Ed25519 root key is).
func ParseRootKey(s string) (RootKey, error) {
	hrp, data, err := bech32Decode(s, maxRootKeyLen)
	if err != nil || hrp != rootKeyHRP {
		return RootKey{}, ErrInvalidRootKey
	}
	raw, err := convertBits(data, 5, 8, false)
	if err != nil || len(raw) != RootKeySize {
		return RootKey{}, ErrInvalidRootKey
	}
	var k RootKey
	copy(k[:], raw)
	clear(raw)
	if k[0]&0b0000_0111 != 0 || k[31]&0b1110_0000 != 0b0100_0000 {
		return RootKey{}, ErrInvalidRootKey
	}
	return k, nil
}
