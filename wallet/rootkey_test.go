package wallet

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Published Icarus root keys: entropy, the key in hex and in bech32, as
// Cardano's serialisation libraries and wallets derive them (the 12-word
// phrase "test walk nut penalty hip pave soap entry language right filter
// choice", and a 24-word one).
var rootKeyVectors = []struct{ entropy, hex, bech32 string }{
	{
		"df9ed25ed146bf43336a5d7cf7395994",
		"608621fb4c0101feb31f6f2fd7018bee54101ff67d555079671893225ee1a45e2331497029d885b5634405f350508cd95dce3991503b10f128d04f34b7b625783a1e3bd5dcf11fd4f989ec2cdcdea3a54db8997398174ecdcc87006c274176a0",
		"xprv1vzrzr76vqyqlavclduhawqvtae2pq8lk0424q7t8rzfjyhhp530zxv2fwq5a3pd4vdzqtu6s2zxdjhww8xg4qwcs7y5dqne5k7mz27p6rcaath83rl20nz0v9nwdaga9fkufjuucza8vmny8qpkzwstk5quneyk9",
	},
	{
		"56a230f8e4adc93defca80251bb88f75fc1f509dd5c1e8fee3a166dacbd4d90e",
		"3866b831cc61a5e2e93cf8685891390e6195a23dba7886d5f5698941eb651d4d129a107364096cae120349bf6b1f96e094b52d7d1e9e6470ecc57f49360b863278672db9313ecd75ee979b5683da438a5f2e50b3bef3d14042b26968263a3c0f",
		"",
	},
}

func TestNewRootKey_DerivesThePublishedIcarusKeys(t *testing.T) {
	for _, v := range rootKeyVectors {
		entropy, _ := hex.DecodeString(v.entropy)
		k, err := NewRootKey(entropy)
		if err != nil {
			t.Fatalf("NewRootKey(%s): %v", v.entropy, err)
		}
		if got := hex.EncodeToString(k[:]); got != v.hex {
			t.Errorf("NewRootKey(%s) = %s, want %s", v.entropy, got, v.hex)
		}
		if v.bech32 != "" && k.Bech32() != v.bech32 {
			t.Errorf("Bech32 = %s, want %s", k.Bech32(), v.bech32)
		}
		back, err := ParseRootKey(k.Bech32())
		if err != nil || back != k {
			t.Errorf("ParseRootKey(Bech32()) = %x, %v; want the key back", back[:4], err)
		}
	}
}

func TestGenerateRootKey_IsAClampedKeyOfItsEntropy(t *testing.T) {
	seen := map[RootKey]bool{}
	for range 8 {
		k, err := GenerateRootKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k] {
			t.Fatal("GenerateRootKey returned the same key twice")
		}
		seen[k] = true
		if k[0]&7 != 0 || k[31]&0x80 != 0 || k[31]&0x40 == 0 || k[31]&0x20 != 0 {
			t.Errorf("the scalar is not clamped: k[0] %08b, k[31] %08b", k[0], k[31])
		}
		s := k.Bech32()
		if len(s) != 165 || !strings.HasPrefix(s, "xprv1") {
			t.Errorf("Bech32 = %q (%d characters), want xprv1… of 165", s[:10], len(s))
		}
	}
	// The entropy is all that makes the key: 32 bytes from the reader.
	entropy := bytes.Repeat([]byte{0x5a}, 32)
	want, err := NewRootKey(entropy)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := GenerateRootKey(bytes.NewReader(entropy)); err != nil || got != want {
		t.Errorf("GenerateRootKey(reader) = %v; want NewRootKey of the same 32 bytes", err)
	}
	if _, err := GenerateRootKey(bytes.NewReader(entropy[:31])); err == nil {
		t.Error("GenerateRootKey succeeded with 31 bytes of entropy")
	}
}

func TestNewRootKey_RefusesEntropyNoRecoveryPhraseHas(t *testing.T) {
	for _, n := range []int{0, 12, 15, 17, 30, 36, 64} {
		if _, err := NewRootKey(make([]byte, n)); !errors.Is(err, ErrInvalidRootKey) {
			t.Errorf("NewRootKey(%d bytes): %v, want ErrInvalidRootKey", n, err)
		}
	}
}

func TestParseRootKey_RefusesAnythingButAClampedXprvOf96Bytes(t *testing.T) {
	entropy, _ := hex.DecodeString(rootKeyVectors[0].entropy)
	k, err := NewRootKey(entropy)
	if err != nil {
		t.Fatal(err)
	}
	good := k.Bech32()
	if _, err := ParseRootKey(strings.ToUpper(good)); err != nil {
		t.Errorf("the upper-case form: %v", err)
	}
	encode := func(hrp string, raw []byte) string {
		data, _ := convertBits(raw, 8, 5, true)
		return bech32Encode(hrp, data)
	}
	unclamped := func(i int, b byte) string {
		raw := k
		raw[i] |= b
		return encode("xprv", raw[:])
	}
	for name, s := range map[string]string{
		"empty":                  "",
		"another part":           encode("xpub", k[:]),
		"an address's part":      encode("addr", k[:]),
		"64 bytes":               encode("xprv", k[:64]),
		"97 bytes":               encode("xprv", append(k[:], 0)),
		"a wrong checksum":       good[:len(good)-1] + otherChar(good[len(good)-1]),
		"mixed case":             "X" + good[1:],
		"a low bit of kL set":    unclamped(0, 1),
		"the top bit of kL set":  unclamped(31, 0x80),
		"the third bit set":      unclamped(31, 0x20),
		"a second separator":     good[:10] + "1" + good[11:],
		"trailing space":         good + " ",
		"twice as long":          good + good,
		"hex instead of bech32":  rootKeyVectors[0].hex,
		"a bech32m-like garbage": "xprv1qqqqqqqqqqqqqqqqqqqqqq",
	} {
		if _, err := ParseRootKey(s); !errors.Is(err, ErrInvalidRootKey) {
			t.Errorf("%s: %v, want ErrInvalidRootKey", name, err)
		}
	}
	// Bit 6 of byte 31 must be set: clearing it is refused too.
	raw := k
	raw[31] &^= 0x40
	if _, err := ParseRootKey(encode("xprv", raw[:])); !errors.Is(err, ErrInvalidRootKey) {
		t.Errorf("the second-highest bit of kL cleared: %v", err)
	}
}

// otherChar returns a bech32 character other than c.
func otherChar(c byte) string {
	if c == 'q' {
		return "p"
	}
	return "q"
}
