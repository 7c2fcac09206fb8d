package wallet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// testWallet is a fresh Ed25519 key and its enterprise address.
type testWallet struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
	addr Address
}

func newWallet(t testing.TB, net Network) testWallet {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return testWallet{priv: priv, pub: pub, addr: NewEnterpriseAddress(pub, net)}
}

// Raw CBOR builders. The tests write their structures byte by byte so they
// can also write what no encoder would: duplicate keys, indefinite lengths,
// odd tags.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
func bs(b []byte) []byte         { return appendBstr(nil, b) }
func ts(s string) []byte         { return appendTstr(nil, s) }
func ci(v int64) []byte          { return appendInt(nil, v) }

func cmap(kvs ...[]byte) []byte {
	return cat(appendHead(nil, majorMap, uint64(len(kvs)/2)), cat(kvs...))
}

func carr(items ...[]byte) []byte {
	return cat(appendHead(nil, majorArray, uint64(len(items))), cat(items...))
}

var (
	cFalse = []byte{0xf4}
	cTrue  = []byte{0xf5}
	cNull  = []byte{0xf6}
)

// independentSigStructure builds the Sig_structure with the cbor library's
// encoder rather than this package's, so a shared mistake cannot hide.
func independentSigStructure(t testing.TB, protected, payload []byte) []byte {
	t.Helper()
	if payload == nil {
		payload = []byte{}
	}
	b, err := cbor.Marshal([]any{"Signature1", protected, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w testWallet) protectedFor(addr Address) []byte {
	return cmap(ci(1), ci(-8), ts("address"), bs(addr.Bytes()))
}

// sign1 signs protected and payload and assembles a COSE_Sign1 with the
// given raw unprotected header.
func (w testWallet) sign1(t testing.TB, protected, unprotected, payload []byte) []byte {
	t.Helper()
	sig := ed25519.Sign(w.priv, independentSigStructure(t, protected, payload))
	return carr(bs(protected), unprotected, bs(payload), bs(sig))
}

func (w testWallet) key() []byte {
	return cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub))
}

func hexOf(b []byte) string { return hex.EncodeToString(b) }

func TestSignData_RoundTripsOnBothNetworks(t *testing.T) {
	for _, net := range []Network{Mainnet, Testnet} {
		for _, msg := range [][]byte{
			[]byte("espresso sign-in 2f1c9a"),
			{},
			nil,
			{0, 0xff, 0x80, 0xc3},
			bytes.Repeat([]byte("x"), 2000),
		} {
			w := newWallet(t, net)
			sig, key, err := SignData(w.priv, w.addr, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignData(w.addr, net, msg, sig, key); err != nil {
				t.Fatalf("%s, %d-byte message: %v", net, len(msg), err)
			}
		}
	}
}

func TestSignData_AcceptsBaseAndPointerAddressesOfItsKey(t *testing.T) {
	w := newWallet(t, Mainnet)
	h := blake2b224(w.pub)
	stake := bytes.Repeat([]byte{7}, hashLen)
	for _, raw := range [][]byte{
		cat([]byte{0x01}, h[:], stake),
		cat([]byte{0x21}, h[:], stake),
		cat([]byte{0x41}, h[:], []byte{1, 2, 3}),
	} {
		a, err := ParsePaymentAddress(encodeAddress(t, "addr", raw), Mainnet)
		if err != nil {
			t.Fatal(err)
		}
		sig, key, err := SignData(w.priv, a, []byte("hi"))
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifySignData(a, Mainnet, []byte("hi"), sig, key); err != nil {
			t.Fatalf("%s: %v", a.Type(), err)
		}
	}
}

// TestSignData_MatchesRealWalletOutputByteForByte signs each accepted
// vector's address and message with a fresh key: everything but the
// signature and the public key must be what the real wallet produced.
func TestSignData_MatchesRealWalletOutputByteForByte(t *testing.T) {
	w := newWallet(t, Mainnet)
	for _, v := range loadVectors(t) {
		if v.Expect != "accept" {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			a, err := ParseAddress(v.WalletAddress)
			if err != nil {
				t.Fatal(err)
			}
			sig, key := signData(w.priv, a.Bytes(), []byte(*v.Message))
			wantSig, wantKey := mustHex(t, v.Signature), mustHex(t, v.Key)
			n := len(wantSig) - ed25519.SignatureSize
			if len(sig) != len(wantSig) || !bytes.Equal(sig[:n], wantSig[:n]) {
				t.Errorf("COSE_Sign1\n got %x\nwant %x", sig, wantSig)
			}
			n = len(wantKey) - ed25519.PublicKeySize
			if len(key) != len(wantKey) || !bytes.Equal(key[:n], wantKey[:n]) {
				t.Errorf("COSE_Key\n got %x\nwant %x", key, wantKey)
			}
		})
	}
}

func TestSignData_RefusesAddressesTheKeyDoesNotControl(t *testing.T) {
	w, other := newWallet(t, Mainnet), newWallet(t, Mainnet)
	if _, _, err := SignData(w.priv, other.addr, []byte("m")); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("other wallet's address: %v", err)
	}
	h := blake2b224(w.pub)
	for _, raw := range [][]byte{cat([]byte{0xe1}, h[:]), cat([]byte{0x71}, h[:])} {
		a, err := ParseAddress(encodeAddress(t, hrpFor(AddressType(raw[0]>>4), Mainnet), raw))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := SignData(w.priv, a, []byte("m")); !errors.Is(err, ErrNotPaymentKeyAddress) {
			t.Errorf("%s: %v", a.Type(), err)
		}
	}
	if _, _, err := SignData(w.priv, Address{}, []byte("m")); !errors.Is(err, ErrNotPaymentKeyAddress) {
		t.Errorf("zero Address: %v", err)
	}
}

// verifyCall is one call to VerifySignData; each case below starts from a
// valid one and breaks one thing.
type verifyCall struct {
	addr     Address
	net      Network
	msg      []byte
	sig, key string
}

func TestVerifySignData_RejectsEachTamperingForItsReason(t *testing.T) {
	w, other := newWallet(t, Mainnet), newWallet(t, Mainnet)
	msg := []byte("espresso sign-in nonce 6b1f0c2a")
	prot := w.protectedFor(w.addr)
	unprot := cmap(ts("hashed"), cFalse)
	good := w.sign1(t, prot, unprot, msg)
	goodSig := good[len(good)-ed25519.SignatureSize:]
	flip := func(b []byte, i int) []byte {
		c := bytes.Clone(b)
		c[i] ^= 1
		return c
	}
	withSig := func(s []byte) func(*verifyCall) { return func(c *verifyCall) { c.sig = hexOf(s) } }
	withProt := func(p []byte) func(*verifyCall) { return withSig(w.sign1(t, p, unprot, msg)) }
	withUnprot := func(u []byte) func(*verifyCall) { return withSig(w.sign1(t, prot, u, msg)) }
	withKey := func(k []byte) func(*verifyCall) { return func(c *verifyCall) { c.key = hexOf(k) } }
	sigOver := func(p, payload []byte) []byte {
		return bs(ed25519.Sign(w.priv, independentSigStructure(t, p, payload)))
	}
	digest := blake2b224(msg)
	scriptAddr, err := ParseAddress(cip19Vectors[7].text)
	if err != nil {
		t.Fatal(err)
	}
	stakeAddr, err := ParseAddress(cip19Vectors[8].text)
	if err != nil {
		t.Fatal(err)
	}
	deep := []byte{0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x80}
	many := make([][]byte, 0, 2*(maxItems+1))
	for i := range maxItems + 1 {
		many = append(many, ci(int64(100+i)), ci(0))
	}

	for _, tc := range []struct {
		name   string
		mutate func(*verifyCall)
		want   error
	}{
		{"nothing changed", func(*verifyCall) {}, nil},
		{"upper-case hex", func(c *verifyCall) { c.sig, c.key = strings.ToUpper(c.sig), strings.ToUpper(c.key) }, nil},
		{"tag 18", withSig(cat([]byte{0xd2}, good)), nil},
		{"hashed absent", withUnprot(cmap()), nil},
		{"hashed true with blake2b-224 payload", withSig(w.sign1(t, prot, cmap(ts("hashed"), cTrue), digest[:])), nil},
		{"unknown unprotected parameter", withUnprot(cmap(ts("hashed"), cFalse, ci(4), bs([]byte("kid")))), nil},
		{"unknown protected parameter", withProt(cmap(ci(1), ci(-8), ci(4), bs(nil), ts("address"), bs(w.addr.Bytes()))), nil},
		{"address marked critical", withProt(cmap(ci(1), ci(-8), ci(2), carr(ts("address")), ts("address"), bs(w.addr.Bytes()))), nil},
		{"protected keys in another order", withProt(cmap(ts("address"), bs(w.addr.Bytes()), ci(1), ci(-8))), nil},
		{"protected alg in a non-minimal head, signed as received", withProt(cmap([]byte{0x18, 0x01}, []byte{0x38, 0x07}, ts("address"), bs(w.addr.Bytes()))), nil},
		{"key with kid and no alg", withKey(cmap(ci(1), ci(1), ci(2), bs([]byte("k1")), ci(-1), ci(6), ci(-2), bs(w.pub))), nil},

		// the signature, payload and message
		{"payload byte flipped", withSig(carr(bs(prot), unprot, bs(flip(msg, 3)), bs(goodSig))), ErrPayloadMismatch},
		{"payload and message changed alike", func(c *verifyCall) {
			c.msg = flip(msg, 3)
			c.sig = hexOf(carr(bs(prot), unprot, bs(c.msg), bs(goodSig)))
		}, ErrBadSignature},
		{"signature byte flipped", withSig(flip(good, len(good)-5)), ErrBadSignature},
		{"protected byte flipped after signing", withSig(carr(bs(w.protectedFor(other.addr)), unprot, bs(msg), bs(goodSig))), ErrAddressMismatch},
		{"another message expected", func(c *verifyCall) { c.msg = []byte("espresso sign-in nonce 00000000") }, ErrPayloadMismatch},
		{"hashed true with the plain payload", withUnprot(cmap(ts("hashed"), cTrue)), ErrPayloadMismatch},
		{"hashed false with blake2b-224 payload", withSig(w.sign1(t, prot, unprot, digest[:])), ErrPayloadMismatch},
		{"hashed 1", withUnprot(cmap(ts("hashed"), ci(1))), ErrMalformedSignature},
		{"hashed as text", withUnprot(cmap(ts("hashed"), ts("false"))), ErrMalformedSignature},
		{"hashed null", withUnprot(cmap(ts("hashed"), cNull)), ErrMalformedSignature},
		{"hashed in the protected header", withSig(w.sign1(t, cmap(ci(1), ci(-8), ts("address"), bs(w.addr.Bytes()), ts("hashed"), cFalse), cmap(), msg)), ErrMalformedSignature},
		{"detached payload", withSig(carr(bs(prot), unprot, cNull, sigOver(prot, msg))), ErrDetachedPayload},
		{"payload as text", withSig(carr(bs(prot), unprot, ts(string(msg)), sigOver(prot, msg))), ErrMalformedSignature},
		{"signature 63 bytes", withSig(carr(bs(prot), unprot, bs(msg), bs(goodSig[:63]))), ErrMalformedSignature},
		{"signature 65 bytes", withSig(carr(bs(prot), unprot, bs(msg), bs(cat(goodSig, []byte{0})))), ErrMalformedSignature},

		// the address and the key
		{"header names another address", withProt(w.protectedFor(other.addr)), ErrAddressMismatch},
		{"header names a stake address", withProt(w.protectedFor(stakeAddr)), ErrAddressMismatch},
		{"address header empty", withProt(cmap(ci(1), ci(-8), ts("address"), bs(nil))), ErrAddressMismatch},
		{"address header missing", withProt(cmap(ci(1), ci(-8))), ErrAddressMismatch},
		{"address header as text", withProt(cmap(ci(1), ci(-8), ts("address"), ts(w.addr.String()))), ErrMalformedSignature},
		{"address only in the unprotected header", withSig(w.sign1(t, cmap(ci(1), ci(-8)), cmap(ts("hashed"), cFalse, ts("address"), bs(w.addr.Bytes())), msg)), ErrAddressMismatch},
		{"key of another wallet", withKey(other.key()), ErrKeyMismatch},
		{"another wallet signs for this address", func(c *verifyCall) {
			c.sig, c.key = hexOf(other.sign1(t, prot, unprot, msg)), hexOf(other.key())
		}, ErrKeyMismatch},
		{"wrong network", func(c *verifyCall) { c.net = Testnet }, ErrWrongNetwork},
		{"script address", func(c *verifyCall) { c.addr = scriptAddr }, ErrNotPaymentKeyAddress},
		{"stake address", func(c *verifyCall) { c.addr = stakeAddr }, ErrNotPaymentKeyAddress},

		// algorithms and critical headers
		{"alg ES256", withProt(cmap(ci(1), ci(-7), ts("address"), bs(w.addr.Bytes()))), ErrUnsupportedAlgorithm},
		{"alg missing", withProt(cmap(ts("address"), bs(w.addr.Bytes()))), ErrUnsupportedAlgorithm},
		{"alg as text", withProt(cmap(ci(1), ts("EdDSA"), ts("address"), bs(w.addr.Bytes()))), ErrUnsupportedAlgorithm},
		{"empty protected header", withSig(w.sign1(t, nil, unprot, msg)), ErrUnsupportedAlgorithm},
		{"unknown critical parameter", withProt(cmap(ci(1), ci(-8), ci(2), carr(ci(99)), ci(99), ci(0), ts("address"), bs(w.addr.Bytes()))), ErrCriticalHeader},
		{"crit names an absent parameter", withProt(cmap(ci(1), ci(-8), ci(2), carr(ts("address")))), ErrMalformedSignature},
		{"crit empty", withProt(cmap(ci(1), ci(-8), ci(2), carr(), ts("address"), bs(w.addr.Bytes()))), ErrMalformedSignature},
		{"crit not an array", withProt(cmap(ci(1), ci(-8), ci(2), ts("address"), ts("address"), bs(w.addr.Bytes()))), ErrMalformedSignature},
		{"crit in the unprotected header", withUnprot(cmap(ts("hashed"), cFalse, ci(2), carr(ts("address")))), ErrMalformedSignature},
		{"alg in both buckets", withUnprot(cmap(ts("hashed"), cFalse, ci(1), ci(-8))), ErrMalformedSignature},

		// strict CBOR
		{"duplicate alg in the protected header", withProt(cmap(ci(1), ci(-8), ci(1), ci(-8), ts("address"), bs(w.addr.Bytes()))), ErrMalformedSignature},
		{"duplicate address in the protected header", withProt(cmap(ci(1), ci(-8), ts("address"), bs(w.addr.Bytes()), ts("address"), bs(other.addr.Bytes()))), ErrMalformedSignature},
		{"duplicate key spelled non-minimally", withProt(cmap(ci(1), ci(-8), []byte{0x18, 0x01}, ci(-8), ts("address"), bs(w.addr.Bytes()))), ErrMalformedSignature},
		{"duplicate hashed in the unprotected header", withUnprot(cmap(ts("hashed"), cFalse, ts("hashed"), cTrue)), ErrMalformedSignature},
		{"duplicate key nested in an unprotected value", withUnprot(cmap(ts("hashed"), cFalse, ci(-70000), cmap(ci(1), ci(1), ci(1), ci(2)))), ErrMalformedSignature},
		{"indefinite-length array", withSig(cat([]byte{0x9f}, good[1:], []byte{0xff})), ErrMalformedSignature},
		{"indefinite-length payload", withSig(cat(carr(bs(prot), unprot), []byte{0x5f}, bs(msg[:5]), bs(msg[5:]), []byte{0xff}, sigOver(prot, msg))), ErrMalformedSignature},
		{"indefinite-length unprotected map", withSig(carr(bs(prot), []byte{0xbf, 0x66, 'h', 'a', 's', 'h', 'e', 'd', 0xf4, 0xff}, bs(msg), bs(goodSig))), ErrMalformedSignature},
		{"indefinite-length protected map", withProt(cat([]byte{0xbf}, ci(1), ci(-8), ts("address"), bs(w.addr.Bytes()), []byte{0xff})), ErrMalformedSignature},
		{"trailing byte", withSig(cat(good, []byte{0x00})), ErrMalformedSignature},
		{"trailing byte inside the protected header", withProt(cat(prot, []byte{0x00})), ErrMalformedSignature},
		{"tag 98 (COSE_Sign)", withSig(cat([]byte{0xd8, 0x62}, good)), ErrMalformedSignature},
		{"tag 18 in a two-byte head", withSig(cat([]byte{0xd8, 0x12}, good)), ErrMalformedSignature},
		{"tag 18 twice", withSig(cat([]byte{0xd2, 0xd2}, good)), ErrMalformedSignature},
		{"tag 18 alone", withSig([]byte{0xd2}), ErrMalformedSignature},
		{"tag inside the payload", withSig(carr(bs(prot), unprot, cat([]byte{0xd8, 0x18}, bs(msg)), sigOver(prot, msg))), ErrMalformedSignature},
		{"byte-string map key", withUnprot(cmap(ts("hashed"), cFalse, bs([]byte("k")), ci(0))), ErrMalformedSignature},
		{"boolean header label", withUnprot(cmap(ts("hashed"), cFalse, cTrue, ci(0))), ErrMalformedSignature},
		{"float header label", withProt(cmap(ci(1), ci(-8), ts("address"), bs(w.addr.Bytes()), []byte{0xf9, 0x3c, 0x00}, ci(0))), ErrMalformedSignature},
		{"array map key", withUnprot(cmap(ts("hashed"), cFalse, carr(), ci(0))), ErrMalformedSignature},
		{"integer label under int64", withUnprot(cmap(ts("hashed"), cFalse, []byte{0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ci(0))), ErrMalformedSignature},
		{"integer label over int64", withUnprot(cmap(ts("hashed"), cFalse, []byte{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ci(0))), ErrMalformedSignature},
		{"invalid UTF-8 label", withUnprot(cmap(ts("hashed"), cFalse, []byte{0x62, 0xff, 0xfe}, ci(0))), ErrMalformedSignature},
		{"nesting too deep", withUnprot(cmap(ts("hashed"), cFalse, ci(-70000), deep)), ErrMalformedSignature},
		{"too many unprotected parameters", withUnprot(cmap(many...)), ErrMalformedSignature},
		{"three elements", withSig(carr(bs(prot), unprot, bs(msg))), ErrMalformedSignature},
		{"five elements", withSig(carr(bs(prot), unprot, bs(msg), bs(goodSig), bs(nil))), ErrMalformedSignature},
		{"a map, not an array", withSig(cmap(ci(0), bs(prot))), ErrMalformedSignature},
		{"protected header not a map", withSig(w.sign1(t, carr(ci(1), ci(-8)), unprot, msg)), ErrMalformedSignature},
		{"protected header as a map, not a byte string", withSig(carr(prot, unprot, bs(msg), bs(goodSig))), ErrMalformedSignature},
		{"unprotected header as an array", withSig(carr(bs(prot), carr(), bs(msg), bs(goodSig))), ErrMalformedSignature},

		// hex and size limits
		{"signature not hex", func(c *verifyCall) { c.sig = "zz" + c.sig[2:] }, ErrMalformedSignature},
		{"signature odd length", func(c *verifyCall) { c.sig = c.sig[1:] }, ErrMalformedSignature},
		{"signature empty", func(c *verifyCall) { c.sig = "" }, ErrMalformedSignature},
		{"signature oversized", func(c *verifyCall) { c.sig = strings.Repeat("00", maxSignatureHex/2+1) }, ErrMalformedSignature},
		{"key not hex", func(c *verifyCall) { c.key = "0x" + c.key }, ErrInvalidKey},
		{"key empty", func(c *verifyCall) { c.key = "" }, ErrInvalidKey},
		{"key oversized", func(c *verifyCall) { c.key = strings.Repeat("a", maxKeyHex+1) }, ErrInvalidKey},

		// the COSE_Key
		{"key type EC2", withKey(cmap(ci(1), ci(2), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"key type as text", withKey(cmap(ci(1), ts("OKP"), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"key type missing", withKey(cmap(ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"curve X25519", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(4), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"curve missing", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"key alg ES256", withKey(cmap(ci(1), ci(1), ci(3), ci(-7), ci(-1), ci(6), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"x 31 bytes", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub[:31]))), ErrInvalidKey},
		{"x 33 bytes", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(cat(w.pub, []byte{0})))), ErrInvalidKey},
		{"x missing", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6))), ErrInvalidKey},
		{"x as text", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6), ci(-2), ts(string(w.pub)))), ErrInvalidKey},
		{"private key included", withKey(cmap(ci(1), ci(1), ci(3), ci(-8), ci(-1), ci(6), ci(-2), bs(w.pub), ci(-4), bs(w.priv.Seed()))), ErrInvalidKey},
		{"kid as text", withKey(cmap(ci(1), ci(1), ci(2), ts("k1"), ci(-1), ci(6), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"duplicate x in the key", withKey(cmap(ci(1), ci(1), ci(-1), ci(6), ci(-2), bs(other.pub), ci(-2), bs(w.pub))), ErrInvalidKey},
		{"key with trailing byte", withKey(cat(w.key(), []byte{0})), ErrInvalidKey},
		{"key tagged", withKey(cat([]byte{0xd2}, w.key())), ErrInvalidKey},
		{"key indefinite-length map", withKey(cat([]byte{0xbf}, w.key()[1:], []byte{0xff})), ErrInvalidKey},
		{"key an array", withKey(carr(bs(w.pub))), ErrInvalidKey},
		{"key a bare public key", withKey(w.pub), ErrInvalidKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := verifyCall{addr: w.addr, net: Mainnet, msg: msg, sig: hexOf(good), key: hexOf(w.key())}
			tc.mutate(&c)
			err := VerifySignData(c.addr, c.net, c.msg, c.sig, c.key)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err == nil {
				return
			}
			for _, secret := range []string{c.sig, c.key, string(c.msg), hexOf(w.pub)} {
				if len(secret) >= 8 && strings.Contains(strings.ToLower(err.Error()), strings.ToLower(secret)) {
					t.Fatalf("the error %q echoes its input", err)
				}
			}
		})
	}
}

// TestVerifySignData_SizeLimitIsExact signs messages that put the
// COSE_Sign1 hex just at and just over the limit: the limit, not the
// decoder, must be what refuses the larger one.
func TestVerifySignData_SizeLimitIsExact(t *testing.T) {
	w := newWallet(t, Mainnet)
	sigHex, keyHex, err := SignData(w.priv, w.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Past 256 bytes the payload's head is 3 bytes: aim with that overhead.
	overhead := len(sigHex)/2 - 1 + 3
	for _, tc := range []struct {
		extra int
		want  error
	}{{0, nil}, {1, ErrMalformedSignature}} {
		msg := bytes.Repeat([]byte{'m'}, maxSignatureHex/2-overhead+tc.extra)
		sigHex, _, err := SignData(w.priv, w.addr, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sigHex) != maxSignatureHex+2*tc.extra {
			t.Fatalf("built %d hex digits, want %d", len(sigHex), maxSignatureHex+2*tc.extra)
		}
		if err := VerifySignData(w.addr, Mainnet, msg, sigHex, keyHex); !errors.Is(err, tc.want) {
			t.Fatalf("%d hex digits: got %v, want %v", len(sigHex), err, tc.want)
		}
	}
}
