package wallet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
)

// VerifySignData checks that signatureHex and keyHex, the result of a CIP-30
// wallet's signData(addr, hex(message)), prove that the holder of addr's
// payment key signed message. It is strict on purpose, and returns nil only
// if all of the following hold, checked in this order:
//
//   - addr is a parsed address (ErrInvalidAddress for the zero Address) of
//     network net (ErrWrongNetwork) whose payment part is a key hash
//     (ErrNotPaymentKeyAddress);
//   - keyHex is at most 512 hex digits encoding a COSE_Key with kty OKP, crv
//     Ed25519, a 32-byte x, optionally alg EdDSA and a byte-string kid, and
//     nothing else (ErrInvalidKey);
//   - signatureHex is at most 8 KiB of hex encoding a COSE_Sign1, untagged or
//     with tag 18, in strict CBOR: no duplicate map keys, indefinite lengths,
//     other tags, trailing bytes or labels other than int/text; a label in
//     at most one header bucket; a 64-byte signature
//     (ErrMalformedSignature); an attached payload (ErrDetachedPayload);
//   - the protected header marks nothing critical beyond alg and address
//     (ErrCriticalHeader), has alg EdDSA (ErrUnsupportedAlgorithm), and its
//     "address" is exactly addr's bytes (ErrAddressMismatch);
//   - the payload is message or, when the unprotected "hashed" is true,
//     blake2b-224(message) (ErrPayloadMismatch; a non-boolean "hashed" is
//     ErrMalformedSignature);
//   - the key's blake2b-224 is addr's payment key hash (ErrKeyMismatch);
//   - the Ed25519 signature over the Sig_structure, built from the protected
//     header bytes exactly as received, verifies (ErrBadSignature).
//
// Errors name the failed check only; they never contain the inputs.
func VerifySignData(addr Address, net Network, message []byte, signatureHex, keyHex string) error {
	if err := checkPaymentAddress(addr, net); err != nil {
		return err
	}
	want, _ := addr.PaymentKeyHash() // ok: checkPaymentAddress passed
	return verifyCIP8(addr.raw, want, message, signatureHex, keyHex)
}

// verifyCIP8 is VerifySignData without the address policy: signer is the
// address the protected header must name and keyHash the credential the key
// must hash to. Tests use it to check the vectors' stated reasons for
// rejection, which the policy would otherwise mask.
func verifyCIP8(signer string, want [hashLen]byte, message []byte, signatureHex, keyHex string) error {
	if len(keyHex) > maxKeyHex {
		return fmt.Errorf("%w: too large", ErrInvalidKey)
	}
	if len(signatureHex) > maxSignatureHex {
		return fmt.Errorf("%w: too large", ErrMalformedSignature)
	}
	keyBytes, err := hex.DecodeString(keyHex)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrInvalidKey)
	}
	sigBytes, err := hex.DecodeString(signatureHex)
	if err != nil {
		return fmt.Errorf("%w: not hex", ErrMalformedSignature)
	}
	dm, err := strictDecMode()
	if err != nil {
		return fmt.Errorf("wallet: building the CBOR decoder: %w", err) // a bug: the options are constant
	}
	pub, err := decodeCOSEKey(dm, keyBytes)
	if err != nil {
		return err
	}
	s, err := decodeSign1(dm, sigBytes)
	if err != nil {
		return err
	}
	if s.protected[labelAlg] != algEdDSA {
		return fmt.Errorf("%w: alg is not EdDSA", ErrUnsupportedAlgorithm)
	}
	signed, ok := s.protected[headerAddress]
	if !ok {
		return fmt.Errorf("%w: no address header", ErrAddressMismatch)
	}
	signedAddr, ok := signed.([]byte)
	if !ok {
		return fmt.Errorf("%w: address header is not a byte string", ErrMalformedSignature)
	}
	if len(signedAddr) == 0 || string(signedAddr) != signer {
		return ErrAddressMismatch
	}
	hashed, err := hashedFlag(s.unprotected)
	if err != nil {
		return err
	}
	expected := message
	if hashed {
		h := blake2b224(message)
		expected = h[:]
	}
	if !bytes.Equal(s.payload, expected) {
		return ErrPayloadMismatch
	}
	// The key is bound to the address last, so that a signature made for
	// another address is reported as such rather than as a key mismatch.
	if blake2b224(pub) != want {
		return ErrKeyMismatch
	}
	if !ed25519.Verify(pub, sigStructure(s.protectedRaw, s.payload), s.signature) {
		return ErrBadSignature
	}
	return nil
}

// SignData returns what a CIP-30 wallet's signData(addr, hex(message))
// returns when priv holds addr's payment key: the COSE_Sign1 hex (protected
// {1: -8, "address": addr}, unprotected {"hashed": false}, message attached)
// and the COSE_Key hex ({1: 1, 3: -8, -1: 6, -2: public key}), both in
// canonical CBOR. It refuses to sign for an address priv does not control:
// ErrNotPaymentKeyAddress when addr has no payment key, ErrKeyMismatch when
// the key is another one. It panics, as crypto/ed25519 does, if priv is not
// 64 bytes long.
func SignData(priv ed25519.PrivateKey, addr Address, message []byte) (signatureHex, keyHex string, err error) {
	if len(priv) != ed25519.PrivateKeySize {
		panic("wallet: bad private key length")
	}
	pub, _ := priv.Public().(ed25519.PublicKey) // always ed25519.PublicKey
	want, ok := addr.PaymentKeyHash()
	if !ok {
		return "", "", fmt.Errorf("%w: %s", ErrNotPaymentKeyAddress, addr.Type())
	}
	if blake2b224(pub) != want {
		return "", "", ErrKeyMismatch
	}
	sig, key := signData(priv, addr.Bytes(), message)
	return hex.EncodeToString(sig), hex.EncodeToString(key), nil
}

// signData builds and signs the COSE_Sign1 without any policy, so tests can
// also produce what a buggy or hostile wallet would.
func signData(priv ed25519.PrivateKey, addr, message []byte) (cose, key []byte) {
	protected := encodeProtected(addr)
	payload := message
	if payload == nil {
		payload = []byte{}
	}
	sig := ed25519.Sign(priv, sigStructure(protected, payload))
	pub, _ := priv.Public().(ed25519.PublicKey)
	return encodeSign1(protected, payload, sig), encodeCOSEKey(pub)
}
