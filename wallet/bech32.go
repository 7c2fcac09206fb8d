package wallet

import (
	"errors"
	"strings"
)

// This file is bech32 as BIP-173 defines it (not bech32m), with the length
// limit made a parameter: Cardano addresses are longer than BIP-173's 90
// characters, and CIP-5 lifts that limit. Every caller still passes a limit so
// hostile input costs a bounded amount of work.

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// bech32Const is the value a valid BIP-173 checksum leaves in the polymod;
// bech32m would use 0x2bc830a3 and is deliberately not accepted.
const bech32Const = 1

var (
	errBech32TooLong   = errors.New("too long")
	errBech32MixedCase = errors.New("mixed case")
	errBech32NoSep     = errors.New("missing separator")
	errBech32HRP       = errors.New("invalid human-readable part")
	errBech32Char      = errors.New("invalid data character")
	errBech32Short     = errors.New("data part too short")
	errBech32Checksum  = errors.New("checksum mismatch")
	errBech32Padding   = errors.New("invalid padding")
)

// bech32CharValue maps an ASCII byte to its 5-bit value, or -1. A function
// over a constant string, rather than a lookup table built at init, keeps the
// package free of initialisation code.
func bech32CharValue(c byte) int {
	return strings.IndexByte(bech32Charset, c)
}

// bech32Step advances the BIP-173 checksum state by one 5-bit value.
func bech32Step(chk uint32, v byte) uint32 {
	top := chk >> 25
	chk = (chk&0x1ffffff)<<5 ^ uint32(v)
	for i, g := range [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3} {
		if (top>>i)&1 == 1 {
			chk ^= g
		}
	}
	return chk
}

// bech32Checksum is the polymod over the expanded HRP followed by data,
// computed without building the concatenation BIP-173's reference code does.
func bech32Checksum(hrp string, data []byte) uint32 {
	chk := uint32(1)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]>>5)
	}
	chk = bech32Step(chk, 0)
	for i := 0; i < len(hrp); i++ {
		chk = bech32Step(chk, hrp[i]&31)
	}
	for _, v := range data {
		chk = bech32Step(chk, v)
	}
	return chk
}

// bech32Decode splits s into its lower-case human-readable part and its 5-bit
// data values (checksum removed). s must be at most maxLen bytes, entirely
// lower- or upper-case, and carry a valid BIP-173 checksum.
func bech32Decode(s string, maxLen int) (hrp string, data []byte, err error) {
	if len(s) > maxLen {
		return "", nil, errBech32TooLong
	}
	var lower, upper bool
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			// Also rejects every byte of a multi-byte UTF-8 sequence.
			return "", nil, errBech32HRP
		}
		if c >= 'a' && c <= 'z' {
			lower = true
		}
		if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	if lower && upper {
		return "", nil, errBech32MixedCase
	}
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 0 {
		return "", nil, errBech32NoSep
	}
	if sep == 0 {
		return "", nil, errBech32HRP
	}
	if len(s)-sep-1 < 6 {
		return "", nil, errBech32Short
	}
	hrp = s[:sep]
	values := make([]byte, len(s)-sep-1)
	for i := range values {
		v := bech32CharValue(s[sep+1+i])
		if v < 0 {
			return "", nil, errBech32Char
		}
		values[i] = byte(v)
	}
	if bech32Checksum(hrp, values) != bech32Const {
		return "", nil, errBech32Checksum
	}
	return hrp, values[:len(values)-6], nil
}

// bech32Encode returns the lower-case bech32 string of hrp (which must already
// be lower-case ASCII) and 5-bit data values.
func bech32Encode(hrp string, data []byte) string {
	chk := bech32Checksum(hrp, append(data[:len(data):len(data)], 0, 0, 0, 0, 0, 0)) ^ bech32Const
	var b strings.Builder
	b.Grow(len(hrp) + 1 + len(data) + 6)
	b.WriteString(hrp)
	b.WriteByte('1')
	for _, v := range data {
		b.WriteByte(bech32Charset[v])
	}
	for i := range 6 {
		b.WriteByte(bech32Charset[(chk>>(5*(5-i)))&31])
	}
	return b.String()
}

// convertBits regroups data from groups of from bits into groups of to bits.
// With pad, a final partial group is zero-filled (encoding). Without pad, the
// leftover must be shorter than from bits and all zero (decoding), so that
// every byte string has exactly one encoding.
func convertBits(data []byte, from, to uint, pad bool) ([]byte, error) {
	var acc uint32
	var bits uint
	maxv := uint32(1)<<to - 1
	out := make([]byte, 0, len(data)*int(from)/int(to)+1)
	for _, v := range data {
		if uint32(v)>>from != 0 {
			return nil, errBech32Char
		}
		acc = acc<<from | uint32(v)
		bits += from
		for bits >= to {
			bits -= to
			out = append(out, byte(acc>>bits&maxv))
		}
	}
	if pad {
		if bits > 0 {
			out = append(out, byte(acc<<(to-bits)&maxv))
		}
	} else if bits >= from || acc<<(to-bits)&maxv != 0 {
		return nil, errBech32Padding
	}
	return out, nil
}
