package wallet

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// bip173Len is BIP-173's own length limit; its vectors assume it.
const bip173Len = 90

func TestBech32Decode_AcceptsBIP173ValidVectors(t *testing.T) {
	for _, s := range []string{
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	} {
		t.Run(s, func(t *testing.T) {
			hrp, data, err := bech32Decode(s, bip173Len)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := bech32Encode(hrp, data); got != strings.ToLower(s) {
				t.Fatalf("re-encoded as %q", got)
			}
		})
	}
}

func TestBech32Decode_RejectsBIP173InvalidVectors(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		want    error
	}{
		{"HRP character 0x20", "\x201nwldj5", errBech32HRP},
		{"HRP character 0x7f", "\x7f1axkwrx", errBech32HRP},
		{"HRP character 0x80", "\x801eym55h", errBech32HRP},
		{"overall max length exceeded", "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx", errBech32TooLong},
		{"no separator", "pzry9x0s0muk", errBech32NoSep},
		{"empty HRP", "1pzry9x0s0muk", errBech32HRP},
		{"invalid data character", "x1b4n0q5v", errBech32Char},
		{"too short checksum", "li1dgmt3", errBech32Short},
		{"invalid character in checksum", "de1lg7wt\xff", errBech32HRP},
		{"checksum calculated with upper-case HRP", "A1G7SGD8", errBech32Checksum},
		{"empty HRP 2", "10a06t8", errBech32HRP},
		{"empty HRP 3", "1qzzfhee", errBech32HRP},
		// BIP-350 valid bech32m strings: the other checksum constant.
		{"bech32m upper", "A1LQFN3A", errBech32Checksum},
		{"bech32m lower", "a1lqfn3a", errBech32Checksum},
		{"bech32m data", "abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx", errBech32Checksum},
		{"bech32m question mark", "?1v759aa", errBech32Checksum},
		{"mixed case", "A12uEL5L", errBech32MixedCase},
		{"empty", "", errBech32NoSep},
		{"one flipped character", "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxx", errBech32Checksum},
		{"multi-byte UTF-8", "a1\u00e9qqqqqq", errBech32HRP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := bech32Decode(tc.s, bip173Len)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBech32Decode_LengthLimitIsAParameter(t *testing.T) {
	s := "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs"
	if _, _, err := bech32Decode(s, len(s)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, _, err := bech32Decode(s, len(s)-1); !errors.Is(err, errBech32TooLong) {
		t.Fatalf("over the limit: got %v", err)
	}
}

func TestConvertBits_RoundTripsAndRejectsBadPadding(t *testing.T) {
	for _, b := range [][]byte{{}, {0}, {0xff}, {1, 2, 3, 4, 5}, bytes.Repeat([]byte{0xa5}, 57)} {
		five, err := convertBits(b, 8, 5, true)
		if err != nil {
			t.Fatal(err)
		}
		back, err := convertBits(five, 5, 8, false)
		if err != nil || !bytes.Equal(back, b) {
			t.Fatalf("%x: got %x, %v", b, back, err)
		}
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"a whole spare group", []byte{31}, errBech32Padding},
		{"non-zero padding bits", []byte{0x1f, 0x1f}, errBech32Padding},
		{"value over 5 bits", []byte{32, 0}, errBech32Char},
	} {
		if _, err := convertBits(tc.in, 5, 8, false); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, err := convertBits([]byte{0x1f, 0x1c}, 5, 8, false); err != nil || !bytes.Equal(got, []byte{0xff}) {
		t.Fatalf("zero padding: got %x, %v", got, err)
	}
}
