package wallet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/blake2b"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; the vectors file adds its
// own entries at run time so new vectors are fuzzed without regenerating
// the corpus.

func FuzzParseAddress(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v.WalletAddress)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) || a != (Address{}) {
				t.Fatalf("error %v with %#v", err, a)
			}
			return
		}
		if len(s) > maxAddressLen || a.String() != strings.ToLower(s) {
			t.Fatalf("accepted %q as %q", s, a)
		}
		if b, err := ParseAddress(a.String()); err != nil || b != a {
			t.Fatalf("String does not re-parse: %v", err)
		}
		if err := checkLength(a.Type(), a.Bytes()[headerLen:]); err != nil {
			t.Fatalf("accepted a bad layout: %v", err)
		}
		for _, net := range []Network{Mainnet, Testnet} {
			p, err := ParsePaymentAddress(s, net)
			_, hasKey := a.PaymentKeyHash()
			want := a.Network() == net && hasKey
			if (err == nil) != want || (err == nil && p != a) {
				t.Fatalf("ParsePaymentAddress on %s: %v (network %s, key %v)", net, err, a.Network(), hasKey)
			}
		}
	})
}

// fuzzAddresses are the addresses FuzzVerifySignData can claim; sel picks
// one, and its top bit asks for the other network.
func fuzzAddresses(t testing.TB) []Address {
	t.Helper()
	texts := []string{
		"addr1qxtu4w2rq2mdguw4fkms2ge4m070nq8cmlyjfhghwlh8sjscnp7pvysxn4qgpg8ty3uzpjuc0l4gr0w74t7ag8uev2qseuyw6u",
		"addr1qxpmvykhq99xlfcccfft27rsntwg778mp37zf5dar75prtz6xzenalsrvktely96xvqtyv72syeycypeqn4fq42x4xnsur6k83",
		"addr1v9ux8dwy800s5pnq327g9uzh8f2fw98ldytxqaxumh3e8kqumfr6d",
		"addr_test1qrwm5wkhvvfcyh60v3h44fknydcxv5aa5s8vrtj4tq5cdfrrueshdzujm6aytddd5j4eullazlknq5djuq6spcz596dqjvm8nu",
		"stake1uyvfslqkzgrf6syq5r4jg7pqewv8l65phh024lw5r7vk9qgznhyty",
	}
	out := make([]Address, 0, len(texts)+2)
	for _, s := range texts {
		a, err := ParseAddress(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	w := fuzzWallet()
	return append(out, NewEnterpriseAddress(w.Public().(ed25519.PublicKey), Mainnet),
		NewEnterpriseAddress(w.Public().(ed25519.PublicKey), Testnet))
}

// fuzzWallet is a fixed key, so that checked-in seeds signed by it stay
// valid.
func fuzzWallet() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x5e}, ed25519.SeedSize))
}

func FuzzVerifySignData(f *testing.F) {
	addrs := fuzzAddresses(f)
	for _, v := range loadVectors(f) {
		msg := []byte(v.WalletAddress) // any bytes: the null-message vector
		if v.Message != nil {
			msg = []byte(*v.Message)
		}
		sig, _ := hex.DecodeString(v.Signature)
		key, _ := hex.DecodeString(v.Key)
		for i, a := range addrs {
			if a.String() == v.WalletAddress {
				f.Add(sig, key, msg, uint8(i))
			}
		}
	}
	f.Fuzz(func(t *testing.T, sig, key, msg []byte, sel uint8) {
		addr := addrs[int(sel&0x7f)%len(addrs)]
		net := addr.Network()
		if sel&0x80 != 0 {
			net ^= 1
		}
		err := VerifySignData(addr, net, msg, hex.EncodeToString(sig), hex.EncodeToString(key))
		if err != nil {
			return
		}
		checkAcceptedIndependently(t, addr, net, msg, sig, key)
	})
}

// checkAcceptedIndependently re-derives an accepted signature's validity
// with the cbor library's lenient defaults and its own encoder, sharing no
// decoding or Sig_structure code with VerifySignData.
func checkAcceptedIndependently(t *testing.T, addr Address, net Network, msg, sig, key []byte) {
	t.Helper()
	want, ok := addr.PaymentKeyHash()
	if !ok || addr.Network() != net {
		t.Fatalf("accepted %s address %s on %s", addr.Type(), addr, net)
	}
	if len(sig) > 0 && sig[0] == 0xd2 {
		sig = sig[1:]
	}
	var s struct {
		_           struct{} `cbor:",toarray"`
		Protected   []byte
		Unprotected map[any]any
		Payload     []byte
		Signature   []byte
	}
	if err := cbor.Unmarshal(sig, &s); err != nil {
		t.Fatalf("accepted, but the library cannot decode it: %v", err)
	}
	var k map[int]any
	if err := cbor.Unmarshal(key, &k); err != nil {
		t.Fatalf("accepted key does not decode: %v", err)
	}
	x, _ := k[-2].([]byte)
	if h := independentBlake2b224(t, x); !bytes.Equal(h, want[:]) {
		t.Fatal("accepted a key that is not the address's")
	}
	var p map[any]any
	if err := cbor.Unmarshal(s.Protected, &p); err != nil {
		t.Fatalf("accepted protected header does not decode: %v", err)
	}
	if a, _ := p["address"].([]byte); !bytes.Equal(a, addr.Bytes()) {
		t.Fatal("accepted a signature for another address")
	}
	hashed, _ := s.Unprotected["hashed"].(bool)
	expected := msg
	if hashed {
		expected = independentBlake2b224(t, msg)
	}
	if !bytes.Equal(s.Payload, expected) {
		t.Fatal("accepted a payload that is not the message")
	}
	if !ed25519.Verify(ed25519.PublicKey(x), independentSigStructure(t, s.Protected, s.Payload), s.Signature) {
		t.Fatal("accepted a signature that does not verify")
	}
}

func independentBlake2b224(t *testing.T, b []byte) []byte {
	t.Helper()
	d, err := blake2b.New(28, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Write(b)
	return d.Sum(nil)
}
