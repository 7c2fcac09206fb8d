package wallet

import (
	"crypto/ed25519"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// COSE labels and values used by CIP-8 / CIP-30 (RFC 9052, RFC 9053).
const (
	labelAlg  = int64(1) // header: algorithm
	labelCrit = int64(2) // header: critical parameters

	keyLabelKty   = int64(1)
	keyLabelKid   = int64(2)
	keyLabelAlg   = int64(3)
	keyLabelCrv   = int64(-1)
	keyLabelX     = int64(-2)
	algEdDSA      = int64(-8)
	ktyOKP        = int64(1)
	crvEd25519    = int64(6)
	headerAddress = "address"
	headerHashed  = "hashed"

	// tagCOSESign1 is CBOR tag 18 in its only (one-byte) encoding, 0xd2.
	tagCOSESign1 = 0xd2
	sigContext   = "Signature1"
)

// Bounds on hostile input. A CIP-30 sign-in message is a short challenge, so
// a COSE_Sign1 of 4 KiB leaves ample room; a COSE_Key is under 100 bytes.
const (
	maxSignatureHex = 8 << 10
	maxKeyHex       = 512
	// maxNesting covers COSE_Sign1 → header map → one level of structured
	// header value, with slack; the decoder's own floor is 4.
	maxNesting = 8
	// maxItems is the decoder's smallest allowed array and map size; real
	// headers have two or three entries.
	maxItems = 16
)

// strictDecMode returns a CBOR decoder that refuses everything a legitimate
// wallet never produces and an attacker might use to make two parties read
// the same bytes differently: duplicate map keys, indefinite lengths, tags,
// invalid UTF-8, byte-string map keys, and integers outside int64. Every
// integer decodes to int64 so labels compare with ==.
func strictDecMode() (cbor.DecMode, error) {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: maxItems,
		MaxMapPairs:      maxItems,
		IntDec:           cbor.IntDecConvertSignedOrFail,
		MapKeyByteString: cbor.MapKeyByteStringForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
		NaN:              cbor.NaNDecodeForbidden,
		Inf:              cbor.InfDecodeForbidden,
	}.DecMode()
}

// sign1 is a decoded COSE_Sign1 whose shape has been checked but whose
// headers have not been interpreted.
type sign1 struct {
	protectedRaw []byte // exactly as received: the signature covers these bytes
	protected    map[any]any
	unprotected  map[any]any
	payload      []byte
	signature    []byte
}

// decodeSign1 decodes b as a COSE_Sign1, untagged or with tag 18. Shape
// errors wrap ErrMalformedSignature; a nil payload is ErrDetachedPayload.
func decodeSign1(dm cbor.DecMode, b []byte) (sign1, error) {
	if len(b) > 0 && b[0] == tagCOSESign1 {
		b = b[1:]
	}
	var top any
	if err := dm.Unmarshal(b, &top); err != nil {
		return sign1{}, fmt.Errorf("%w: %w", ErrMalformedSignature, err)
	}
	arr, ok := top.([]any)
	if !ok || len(arr) != 4 {
		return sign1{}, fmt.Errorf("%w: not a 4-element array", ErrMalformedSignature)
	}
	var s sign1
	if s.protectedRaw, ok = arr[0].([]byte); !ok {
		return sign1{}, fmt.Errorf("%w: protected header is not a byte string", ErrMalformedSignature)
	}
	if s.unprotected, ok = arr[1].(map[any]any); !ok {
		return sign1{}, fmt.Errorf("%w: unprotected header is not a map", ErrMalformedSignature)
	}
	if arr[2] == nil {
		return sign1{}, ErrDetachedPayload
	}
	if s.payload, ok = arr[2].([]byte); !ok {
		return sign1{}, fmt.Errorf("%w: payload is not a byte string", ErrMalformedSignature)
	}
	if s.signature, ok = arr[3].([]byte); !ok || len(s.signature) != ed25519.SignatureSize {
		return sign1{}, fmt.Errorf("%w: signature is not a %d-byte string", ErrMalformedSignature, ed25519.SignatureSize)
	}
	// RFC 9052 §3: a zero-length protected header stands for the empty map.
	s.protected = map[any]any{}
	if len(s.protectedRaw) > 0 {
		var h any
		if err := dm.Unmarshal(s.protectedRaw, &h); err != nil {
			return sign1{}, fmt.Errorf("%w: protected header: %w", ErrMalformedSignature, err)
		}
		if s.protected, ok = h.(map[any]any); !ok {
			return sign1{}, fmt.Errorf("%w: protected header is not a map", ErrMalformedSignature)
		}
	}
	if err := checkBuckets(s.protected, s.unprotected); err != nil {
		return sign1{}, err
	}
	return s, nil
}

// checkBuckets enforces the header rules that do not depend on the address:
// no parameter in both buckets (CIP-8: "Items MUST NOT be duplicated"),
// crit only in the protected bucket and naming only what this package
// understands, and "hashed" only in the unprotected bucket where CIP-8 puts
// it, so there is one place to read it from.
func checkBuckets(protected, unprotected map[any]any) error {
	if !labelsOnly(protected) || !labelsOnly(unprotected) {
		return fmt.Errorf("%w: header key is not an int or text label", ErrMalformedSignature)
	}
	for k := range unprotected {
		if _, dup := protected[k]; dup {
			return fmt.Errorf("%w: parameter in both header buckets", ErrMalformedSignature)
		}
	}
	if _, ok := unprotected[labelCrit]; ok {
		return fmt.Errorf("%w: crit in the unprotected header", ErrMalformedSignature)
	}
	if _, ok := protected[headerHashed]; ok {
		return fmt.Errorf("%w: hashed in the protected header", ErrMalformedSignature)
	}
	crit, ok := protected[labelCrit]
	if !ok {
		return nil
	}
	labels, ok := crit.([]any)
	if !ok || len(labels) == 0 {
		return fmt.Errorf("%w: crit is not a non-empty array", ErrMalformedSignature)
	}
	for _, l := range labels {
		if l != labelAlg && l != headerAddress {
			return ErrCriticalHeader
		}
		if _, present := protected[l]; !present {
			return fmt.Errorf("%w: critical parameter absent", ErrMalformedSignature)
		}
	}
	return nil
}

// decodeCOSEKey returns the Ed25519 public key in b, a COSE_Key with kty OKP,
// crv Ed25519, a 32-byte x, and optionally alg EdDSA and a byte-string kid.
// Any other parameter is refused: in particular a private key (d, -4) that
// a careless client might send. Every error wraps ErrInvalidKey.
func decodeCOSEKey(dm cbor.DecMode, b []byte) (ed25519.PublicKey, error) {
	var v any
	if err := dm.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	m, ok := v.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a map", ErrInvalidKey)
	}
	for k, val := range m {
		switch k {
		case keyLabelKty, keyLabelCrv:
			// checked below, as both are required
		case keyLabelAlg:
			if val != algEdDSA {
				return nil, fmt.Errorf("%w: alg is not EdDSA", ErrInvalidKey)
			}
		case keyLabelKid:
			if _, ok := val.([]byte); !ok {
				return nil, fmt.Errorf("%w: kid is not a byte string", ErrInvalidKey)
			}
		case keyLabelX:
			if x, ok := val.([]byte); !ok || len(x) != ed25519.PublicKeySize {
				return nil, fmt.Errorf("%w: x is not a %d-byte string", ErrInvalidKey, ed25519.PublicKeySize)
			}
		default:
			return nil, fmt.Errorf("%w: unexpected parameter", ErrInvalidKey)
		}
	}
	if m[keyLabelKty] != ktyOKP {
		return nil, fmt.Errorf("%w: kty is not OKP", ErrInvalidKey)
	}
	if m[keyLabelCrv] != crvEd25519 {
		return nil, fmt.Errorf("%w: crv is not Ed25519", ErrInvalidKey)
	}
	x, ok := m[keyLabelX].([]byte)
	if !ok {
		return nil, fmt.Errorf("%w: x is missing", ErrInvalidKey)
	}
	return ed25519.PublicKey(x), nil
}

// labelsOnly reports whether every key of m is a COSE label: an integer or
// a text string (RFC 9052: label = int / tstr).
func labelsOnly(m map[any]any) bool {
	for k := range m {
		switch k.(type) {
		case int64, string:
		default:
			return false
		}
	}
	return true
}

// hashedFlag reads CIP-8's "hashed" parameter; absent means false.
func hashedFlag(unprotected map[any]any) (bool, error) {
	v, ok := unprotected[headerHashed]
	if !ok {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%w: hashed is not a boolean", ErrMalformedSignature)
	}
	return b, nil
}

// The encoders below write the few fixed shapes this package produces, in
// the canonical form of RFC 8949 §4.2.1 (shortest heads, definite lengths,
// map keys in bytewise order), byte for byte what CIP-30 wallets emit.

// appendHead appends a CBOR head of major type major and argument n in its
// shortest form.
func appendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= 0xff:
		return append(dst, m|24, byte(n))
	case n <= 0xffff:
		return append(dst, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(dst, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
		byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

const (
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5

	cborFalse = 0xf4
)

func appendBstr(dst, b []byte) []byte {
	return append(appendHead(dst, majorBytes, uint64(len(b))), b...)
}

func appendTstr(dst []byte, s string) []byte {
	return append(appendHead(dst, majorText, uint64(len(s))), s...)
}

// appendInt appends a small signed integer (COSE labels and values).
func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		return appendHead(dst, 1, uint64(-1-v))
	}
	return appendHead(dst, 0, uint64(v))
}

// sigStructure is the byte string Ed25519 signs for a COSE_Sign1 (RFC 9052
// §4.4): ["Signature1", protected, external_aad (empty), payload]. protected is
// used exactly as received; re-encoding it would break signatures from
// wallets whose encoding differs from ours.
func sigStructure(protected, payload []byte) []byte {
	out := make([]byte, 0, 1+1+len(sigContext)+9+len(protected)+1+9+len(payload))
	out = appendHead(out, majorArray, 4)
	out = appendTstr(out, sigContext)
	out = appendBstr(out, protected)
	out = appendBstr(out, nil)
	return appendBstr(out, payload)
}

// encodeProtected returns {1: -8, "address": addr}, the protected header
// CIP-30 wallets sign.
func encodeProtected(addr []byte) []byte {
	out := appendHead(nil, majorMap, 2)
	out = appendInt(out, labelAlg)
	out = appendInt(out, algEdDSA)
	out = appendTstr(out, headerAddress)
	return appendBstr(out, addr)
}

// encodeSign1 returns the untagged COSE_Sign1 [protected, {"hashed": false},
// payload, signature], as CIP-30 wallets return it.
func encodeSign1(protected, payload, signature []byte) []byte {
	out := appendHead(nil, majorArray, 4)
	out = appendBstr(out, protected)
	out = appendHead(out, majorMap, 1)
	out = appendTstr(out, headerHashed)
	out = append(out, cborFalse)
	out = appendBstr(out, payload)
	return appendBstr(out, signature)
}

// encodeCOSEKey returns {1: 1, 3: -8, -1: 6, -2: pub}, the COSE_Key CIP-30
// wallets return.
func encodeCOSEKey(pub ed25519.PublicKey) []byte {
	out := appendHead(nil, majorMap, 4)
	out = appendInt(out, keyLabelKty)
	out = appendInt(out, ktyOKP)
	out = appendInt(out, keyLabelAlg)
	out = appendInt(out, algEdDSA)
	out = appendInt(out, keyLabelCrv)
	out = appendInt(out, crvEd25519)
	out = appendInt(out, keyLabelX)
	return appendBstr(out, pub)
}
