package wallet

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The CIP-19 test vectors: every header type on both networks, built from
// the same payment key hash (9493…2c8e), stake key hash (337b…7251), script
// hash (c37b…542f) and pointer (2498243, 27, 3).
var cip19Vectors = []struct {
	text   string
	typ    AddressType
	net    Network
	rawHex string
}{
	{"addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x", TypeBaseKeyKey, Mainnet,
		"019493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"addr1z8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs9yc0hh", TypeBaseScriptKey, Mainnet,
		"11c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"addr1yx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs2z78ve", TypeBaseKeyScript, Mainnet,
		"219493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8ec37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"addr1x8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shskhj42g", TypeBaseScriptScript, Mainnet,
		"31c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542fc37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrzqf96k", TypePointerKey, Mainnet,
		"419493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e8198bd431b03"},
	{"addr128phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcrtw79hu", TypePointerScript, Mainnet,
		"51c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f8198bd431b03"},
	{"addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8", TypeEnterpriseKey, Mainnet,
		"619493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e"},
	{"addr1w8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcyjy7wx", TypeEnterpriseScript, Mainnet,
		"71c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw", TypeRewardKey, Mainnet,
		"e1337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5", TypeRewardScript, Mainnet,
		"f1c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgs68faae", TypeBaseKeyKey, Testnet,
		"009493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"addr_test1zrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gten0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgsxj90mg", TypeBaseScriptKey, Testnet,
		"10c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"addr_test1yz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerkr0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shsf5r8qx", TypeBaseKeyScript, Testnet,
		"209493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8ec37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"addr_test1xrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs4p04xh", TypeBaseScriptScript, Testnet,
		"30c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542fc37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"addr_test1gz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrdw5vky", TypePointerKey, Testnet,
		"409493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e8198bd431b03"},
	{"addr_test12rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcryqrvmw", TypePointerScript, Testnet,
		"50c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f8198bd431b03"},
	{"addr_test1vz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerspjrlsz", TypeEnterpriseKey, Testnet,
		"609493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e"},
	{"addr_test1wrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcl6szpr", TypeEnterpriseScript, Testnet,
		"70c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
	{"stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn", TypeRewardKey, Testnet,
		"e0337b62cfff6403a06a3acbc34f8c46003c69fe79a3628cefa9c47251"},
	{"stake_test17rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcljw6kf", TypeRewardScript, Testnet,
		"f0c37b1b5dc0669f1d3c61a6fddb2e8fde96be87b881c60bce8e8d542f"},
}

func TestParseAddress_DecodesEveryCIP19Vector(t *testing.T) {
	for _, v := range cip19Vectors {
		t.Run(v.typ.String()+"/"+v.net.String(), func(t *testing.T) {
			a, err := ParseAddress(v.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(a.Bytes()); got != v.rawHex {
				t.Errorf("bytes %s, want %s", got, v.rawHex)
			}
			if a.Type() != v.typ || a.Network() != v.net || a.String() != v.text {
				t.Errorf("got %s %s %q", a.Type(), a.Network(), a.String())
			}
			h, ok := a.PaymentKeyHash()
			wantOK := v.typ == TypeBaseKeyKey || v.typ == TypeBaseKeyScript || v.typ == TypePointerKey || v.typ == TypeEnterpriseKey
			if ok != wantOK {
				t.Fatalf("PaymentKeyHash ok = %v, want %v", ok, wantOK)
			}
			if ok && hex.EncodeToString(h[:]) != "9493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e" {
				t.Errorf("payment key hash %x", h)
			}
			up, err := ParseAddress(strings.ToUpper(v.text))
			if err != nil || up != a {
				t.Errorf("upper-case form: %v, equal %v", err, up == a)
			}
		})
	}
}

func TestParsePaymentAddress_AcceptsOnlyKeyAddressesOfTheNetwork(t *testing.T) {
	for _, v := range cip19Vectors {
		for _, net := range []Network{Mainnet, Testnet} {
			t.Run(v.typ.String()+"/"+v.net.String()+"-on-"+net.String(), func(t *testing.T) {
				var want error
				switch {
				case v.net != net:
					want = ErrWrongNetwork
				case !v.typ.hasPaymentKey():
					want = ErrNotPaymentKeyAddress
				}
				a, err := ParsePaymentAddress(v.text, net)
				if !errors.Is(err, want) {
					t.Fatalf("got %v, want %v", err, want)
				}
				if err == nil && a.String() != v.text {
					t.Fatalf("got %q", a)
				}
				if err != nil && a != (Address{}) {
					t.Fatal("a failed parse returned a non-zero Address")
				}
			})
		}
	}
}

// encodeAddress writes raw under hrp with a valid checksum, to build
// addresses that only the layout checks can refuse.
func encodeAddress(t *testing.T, hrp string, raw []byte) string {
	t.Helper()
	data, err := convertBits(raw, 8, 5, true)
	if err != nil {
		t.Fatal(err)
	}
	return bech32Encode(hrp, data)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseAddress_RejectsMalformedAddresses(t *testing.T) {
	keyHash := "9493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e"
	valid := "addr1vx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8"
	for _, tc := range []struct {
		name string
		s    func(t *testing.T) string
		why  error
	}{
		{"empty", func(*testing.T) string { return "" }, errBech32NoSep},
		{"garbage", func(*testing.T) string { return "hello world" }, errBech32HRP},
		{"Byron base58", func(*testing.T) string { return "Ae2tdPwUPEZFRbyhz3cpfC2CumGzNkFBN2L42rcUc2yjQpEkxDbkPodpMAi" }, errBech32MixedCase},
		{"Byron Daedalus", func(*testing.T) string {
			return "DdzFFzCqrhsiMfvZtvTgqbR5jT4UAMEwJCT2bBvWSTiN736tSSxhnhHbmJYUhTiuZGgojfi3jizinGRVUdBF9QHgWHi11nEVpwK36gC9"
		}, errBech32MixedCase},
		{"mixed case", func(*testing.T) string { return "addr1VX2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzers66hrl8" }, errBech32MixedCase},
		{"bad checksum", func(*testing.T) string { return valid[:len(valid)-1] + "9" }, errBech32Checksum},
		{"one character changed", func(*testing.T) string { return strings.Replace(valid, "x2f", "x3f", 1) }, errBech32Checksum},
		{"not UTF-8", func(*testing.T) string { return "addr1\xff\xfe" + valid[5:] }, errBech32HRP},
		{"oversized", func(*testing.T) string { return valid + strings.Repeat("q", maxAddressLen) }, errBech32TooLong},
		{"checksum only", func(t *testing.T) string { return bech32Encode("addr", nil) }, errEmpty},
		{"bech32m checksum", func(t *testing.T) string {
			data, _ := convertBits(mustHex(t, "61"+keyHash), 8, 5, true)
			chk := bech32Checksum("addr", append(data, 0, 0, 0, 0, 0, 0)) ^ 0x2bc830a3
			s := "addr1"
			for _, v := range data {
				s += string(bech32Charset[v])
			}
			for i := range 6 {
				s += string(bech32Charset[(chk>>(5*(5-i)))&31])
			}
			return s
		}, errBech32Checksum},
		{"enterprise one byte short", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "61"+keyHash[2:])) }, errLength},
		{"enterprise one byte long", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "61"+keyHash+"00")) }, errLength},
		{"base with one hash", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "01"+keyHash)) }, errLength},
		{"base one byte long", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "01"+keyHash+keyHash+"00")) }, errLength},
		{"reward with two hashes", func(t *testing.T) string { return encodeAddress(t, "stake", mustHex(t, "e1"+keyHash+keyHash)) }, errLength},
		{"header only", func(t *testing.T) string { return encodeAddress(t, "addr", []byte{0x61}) }, errLength},
		{"Byron type 8 in bech32", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "81"+keyHash)) }, errUnknownType},
		{"unassigned type 9", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "91"+keyHash)) }, errUnknownType},
		{"unassigned type 13", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "d1"+keyHash)) }, errUnknownType},
		{"network id 2", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "62"+keyHash)) }, errNetworkID},
		{"network id 15", func(t *testing.T) string { return encodeAddress(t, "addr_test", mustHex(t, "6f"+keyHash)) }, errNetworkID},
		{"mainnet header with addr_test", func(t *testing.T) string { return encodeAddress(t, "addr_test", mustHex(t, "61"+keyHash)) }, errPrefix},
		{"testnet header with addr", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "60"+keyHash)) }, errPrefix},
		{"payment address with stake", func(t *testing.T) string { return encodeAddress(t, "stake", mustHex(t, "61"+keyHash)) }, errPrefix},
		{"reward address with addr", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "e1"+keyHash)) }, errPrefix},
		{"unknown prefix", func(t *testing.T) string { return encodeAddress(t, "addr_vk", mustHex(t, "61"+keyHash)) }, errPrefix},
		{"pointer without pointer", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "41"+keyHash)) }, errPointerTruncated},
		{"pointer with two naturals", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"0102")) }, errPointerTruncated},
		{"pointer truncated natural", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"010281")) }, errPointerTruncated},
		{"pointer trailing byte", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"01020300")) }, errPointerTrailing},
		{"pointer non-minimal natural", func(t *testing.T) string { return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"80010203")) }, errPointerOverlong},
		{"pointer natural over 64 bits", func(t *testing.T) string {
			return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"82808080808080808000"+"0203"))
		}, errPointerOverflow},
		{"pointer natural of 11 groups", func(t *testing.T) string {
			return encodeAddress(t, "addr", mustHex(t, "41"+keyHash+"8180808080808080808000"+"0203"))
		}, errPointerOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s(t)
			a, err := ParseAddress(s)
			if !errors.Is(err, ErrInvalidAddress) || !errors.Is(err, tc.why) {
				t.Fatalf("ParseAddress(%q) = %v, %v; want ErrInvalidAddress for %v", s, a, err, tc.why)
			}
			if a != (Address{}) {
				t.Fatal("non-zero Address on error")
			}
			if strings.Contains(err.Error(), s) && s != "" {
				t.Fatal("the error echoes the input")
			}
			for _, net := range []Network{Mainnet, Testnet} {
				if _, err := ParsePaymentAddress(s, net); !errors.Is(err, ErrInvalidAddress) {
					t.Fatalf("ParsePaymentAddress on %s: %v", net, err)
				}
			}
		})
	}
}

func TestParseAddress_AcceptsPointersAtTheEdges(t *testing.T) {
	keyHash := "9493315cd92eb5d8c4304e67b7e16ae36d61d34502694657811a2c8e"
	for _, tc := range []struct{ name, pointer string }{
		{"zeros", "000000"},
		{"largest uint64 slot", "81ffffffffffffffff7f" + "0000"},
		{"three large naturals", "81ffffffffffffffff7f" + "81ffffffffffffffff7f" + "81ffffffffffffffff7f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := encodeAddress(t, "addr", mustHex(t, "41"+keyHash+tc.pointer))
			if _, err := ParsePaymentAddress(s, Mainnet); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Pointers written by cardano-serialization-lib's own tests.
	for _, s := range []string{
		"addr_test1gz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzerspqgpsqe70et",
		"addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5ph3wczvf2w8lunk",
	} {
		if _, err := ParseAddress(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestParsePaymentAddress_VectorAddresses(t *testing.T) {
	for _, v := range loadVectors(t) {
		net, err := ParseNetwork(v.Network)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParsePaymentAddress(v.WalletAddress, net)
		isStake := strings.HasPrefix(v.WalletAddress, "stake")
		isOtherNet := strings.HasPrefix(v.WalletAddress, "addr_test") != (net == Testnet)
		switch {
		case isStake && !errors.Is(err, ErrNotPaymentKeyAddress),
			!isStake && isOtherNet && !errors.Is(err, ErrWrongNetwork),
			!isStake && !isOtherNet && err != nil:
			t.Errorf("%s: %s on %s: %v", v.ID, v.WalletAddress, net, err)
		}
	}
}

func TestNewEnterpriseAddress_MatchesTheWalletOfTheEnterpriseVector(t *testing.T) {
	// The "enterprise" vector's COSE_Key x and its wallet's address.
	pub := ed25519.PublicKey(mustHex(t, "755b017578b701dc9ddd4eaee67015b4ca8baf66293b7b1d204df426c0ceccb9"))
	if got := NewEnterpriseAddress(pub, Mainnet).String(); got != "addr1v9ux8dwy800s5pnq327g9uzh8f2fw98ldytxqaxumh3e8kqumfr6d" {
		t.Fatalf("got %s", got)
	}
	a := NewEnterpriseAddress(pub, Testnet)
	if !strings.HasPrefix(a.String(), "addr_test1v") || a.Type() != TypeEnterpriseKey || a.Network() != Testnet {
		t.Fatalf("got %s %s %s", a, a.Type(), a.Network())
	}
	if b, err := ParsePaymentAddress(a.String(), Testnet); err != nil || b != a {
		t.Fatalf("re-parse: %v", err)
	}
}

func TestNewEnterpriseAddress_PanicsOnProgrammingErrors(t *testing.T) {
	for name, f := range map[string]func(){
		"short key":       func() { NewEnterpriseAddress(make([]byte, 31), Mainnet) },
		"unknown network": func() { NewEnterpriseAddress(make([]byte, 32), Network(2)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

func TestNetwork_ParsesAndPrintsItsNames(t *testing.T) {
	for _, n := range []Network{Mainnet, Testnet} {
		got, err := ParseNetwork(n.String())
		if err != nil || got != n {
			t.Errorf("%s: got %v, %v", n, got, err)
		}
	}
	if Mainnet != 1 || Testnet != 0 {
		t.Fatal("Network values must be Cardano network ids")
	}
	for _, s := range []string{"", "Mainnet", "preprod", "network(1)", "1"} {
		if _, err := ParseNetwork(s); !errors.Is(err, ErrUnknownNetwork) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if Network(7).String() != "network(7)" {
		t.Error(Network(7).String())
	}
}

func TestAddress_ZeroValueIsHarmless(t *testing.T) {
	var a Address
	if a.String() != "" || len(a.Bytes()) != 0 {
		t.Fatal("zero Address has content")
	}
	if _, ok := a.PaymentKeyHash(); ok {
		t.Fatal("zero Address has a payment key")
	}
	if err := VerifySignData(a, Testnet, nil, "", ""); !errors.Is(err, ErrInvalidAddress) {
		t.Fatalf("got %v", err)
	}
}

func TestAddress_BytesIsACopy(t *testing.T) {
	a, err := ParseAddress(cip19Vectors[6].text)
	if err != nil {
		t.Fatal(err)
	}
	a.Bytes()[1] ^= 0xff
	if hex.EncodeToString(a.Bytes()) != cip19Vectors[6].rawHex {
		t.Fatal("Bytes exposed internal storage")
	}
}

func TestAddressFromBytes_GivesBackEveryCIP19VectorAndRefusesBadBytes(t *testing.T) {
	for _, v := range cip19Vectors {
		raw, err := hex.DecodeString(v.rawHex)
		if err != nil {
			t.Fatal(err)
		}
		a, err := AddressFromBytes(raw)
		if err != nil || a.String() != v.text || a.Type() != v.typ || a.Network() != v.net {
			t.Errorf("AddressFromBytes(%s) = %q, %v; want %q", v.rawHex, a, err, v.text)
		}
	}
	enterprise, _ := hex.DecodeString(cip19Vectors[6].rawHex)
	for name, raw := range map[string][]byte{
		"empty":           nil,
		"header only":     enterprise[:1],
		"short":           enterprise[:len(enterprise)-1],
		"long":            append(append([]byte{}, enterprise...), 0),
		"unknown network": append([]byte{0x62}, enterprise[1:]...),
		"unknown type":    append([]byte{0x91}, enterprise[1:]...),
	} {
		if a, err := AddressFromBytes(raw); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("%s: AddressFromBytes = %q, %v; want ErrInvalidAddress", name, a, err)
		}
	}
}
