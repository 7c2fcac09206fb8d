package wallet

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// cip30Vector is one entry of testdata/cip30-vectors.json, a copy of the
// shared vectors file so that the tests run on a clean clone.
type cip30Vector struct {
	ID            string  `json:"id"`
	WalletAddress string  `json:"wallet_address"`
	Message       *string `json:"message"`
	Network       string  `json:"network"`
	Signature     string  `json:"signature"`
	Key           string  `json:"key"`
	Expect        string  `json:"expect"`
	Why           string  `json:"why"`
}

func loadVectors(t testing.TB) []cip30Vector {
	t.Helper()
	b, err := os.ReadFile("testdata/cip30-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []cip30Vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

// verifyVector applies the sign-in policy to v the way the server does and
// returns nil for accept.
func verifyVector(t *testing.T, v cip30Vector) error {
	t.Helper()
	net, err := ParseNetwork(v.Network)
	if err != nil {
		t.Fatalf("vector network %q: %v", v.Network, err)
	}
	addr, err := ParsePaymentAddress(v.WalletAddress, net)
	if err != nil {
		return err
	}
	var message []byte
	if v.Message != nil {
		message = []byte(*v.Message)
	} else {
		message = payloadOf(t, v.Signature)
	}
	return VerifySignData(addr, net, message, v.Signature, v.Key)
}

// payloadOf extracts the attached payload of a COSE_Sign1, for vectors whose
// expected message is "whatever was signed".
func payloadOf(t *testing.T, sigHex string) []byte {
	t.Helper()
	raw, err := hex.DecodeString(sigHex)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := strictDecMode()
	if err != nil {
		t.Fatal(err)
	}
	s, err := decodeSign1(dm, raw)
	if err != nil {
		t.Fatalf("decoding the vector's COSE_Sign1: %v", err)
	}
	return s.payload
}

func TestVerifySignData_PublicVectorsGiveTheirExpectedVerdict(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			err := verifyVector(t, v)
			got := "accept"
			if err != nil {
				got = "reject"
			}
			if got != v.Expect {
				t.Fatalf("%s (%s): got %s (err %v), want %s", v.ID, v.Why, got, err, v.Expect)
			}
			t.Logf("%s: %v", got, err)
		})
	}
}

// The policy check that rejects a vector first is not always the one its
// "why" describes: a stake address fails ParsePaymentAddress before its
// signature is looked at. These tests pin both: the first failing check,
// and, with the address policy bypassed, the reason the vector was written
// for.

func TestVerifySignData_PublicVectorsRejectForTheFirstFailingCheck(t *testing.T) {
	want := map[string]error{
		"testnet-on-mainnet":         ErrWrongNetwork,
		"wrong-address":              ErrAddressMismatch,
		"message-mismatch":           ErrNotPaymentKeyAddress,
		"stake-key-for-base-address": ErrAddressMismatch,
		"empty-address-header":       ErrNotPaymentKeyAddress,
	}
	for _, v := range loadVectors(t) {
		if v.Expect != "reject" {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			w, ok := want[v.ID]
			if !ok {
				t.Fatalf("new reject vector %q: add its expected reason", v.ID)
			}
			if err := verifyVector(t, v); !errors.Is(err, w) {
				t.Fatalf("got %v, want %v", err, w)
			}
		})
	}
}

func TestVerifySignData_PublicVectorsAreAllValidEd25519Signatures(t *testing.T) {
	dm, err := strictDecMode()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			sigBytes, _ := hex.DecodeString(v.Signature)
			keyBytes, _ := hex.DecodeString(v.Key)
			s, err := decodeSign1(dm, sigBytes)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := decodeCOSEKey(dm, keyBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(pub, sigStructure(s.protectedRaw, s.payload), s.signature) {
				t.Fatal("the vector's signature does not verify: every reject vector should fail on policy, not crypto")
			}
		})
	}
}

// TestVerifyCIP8_PublicVectorsRejectForTheirStatedReason runs the COSE layer
// alone, with the signer and key hash taken from the address the vector
// presents, whatever its type.
func TestVerifyCIP8_PublicVectorsRejectForTheirStatedReason(t *testing.T) {
	want := map[string]error{
		"testnet-on-mainnet":         nil, // only the network is wrong
		"wrong-address":              ErrAddressMismatch,
		"message-mismatch":           ErrPayloadMismatch,
		"stake-key-for-base-address": ErrAddressMismatch,
		"empty-address-header":       ErrAddressMismatch,
	}
	for _, v := range loadVectors(t) {
		if v.Expect != "reject" {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			a, err := ParseAddress(v.WalletAddress)
			if err != nil {
				t.Fatal(err)
			}
			var credential [hashLen]byte
			copy(credential[:], a.raw[headerLen:])
			message := payloadOf(t, v.Signature)
			if v.Message != nil {
				message = []byte(*v.Message)
			}
			err = verifyCIP8(a.raw, credential, message, v.Signature, v.Key)
			if !errors.Is(err, want[v.ID]) {
				t.Fatalf("got %v, want %v", err, want[v.ID])
			}
		})
	}
}
