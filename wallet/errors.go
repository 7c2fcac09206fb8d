package wallet

import "errors"

// The reasons an address is refused. Errors returned by ParseAddress and
// ParsePaymentAddress match exactly one of them with errors.Is; the text
// after the sentinel's own text names the detail and never echoes the input.
var (
	// ErrInvalidAddress: not a well-formed Shelley address (bad bech32,
	// checksum, case, length, header type, network id or human-readable part).
	ErrInvalidAddress = errors.New("wallet: invalid address")
	// ErrWrongNetwork: a well-formed address of another Cardano network.
	ErrWrongNetwork = errors.New("wallet: address is for another network")
	// ErrNotPaymentKeyAddress: a well-formed address whose payment part is
	// not a key hash (script, reward/stake address).
	ErrNotPaymentKeyAddress = errors.New("wallet: not a payment-key address")
	// ErrUnknownNetwork: ParseNetwork was given a name it does not know.
	ErrUnknownNetwork = errors.New("wallet: unknown network")
)

// The reasons VerifySignData refuses a signature. Every error it returns
// matches exactly one of these, or ErrWrongNetwork / ErrNotPaymentKeyAddress
// when the address itself is unacceptable. Any error means "not signed in";
// the distinction exists for logs and tests.
var (
	// ErrMalformedSignature: the signature is not hex, exceeds the size
	// limit, or is not a strictly encoded COSE_Sign1 with well-formed headers.
	ErrMalformedSignature = errors.New("wallet: malformed COSE_Sign1")
	// ErrInvalidKey: the key is not hex, exceeds the size limit, or is not a
	// strictly encoded Ed25519 OKP COSE_Key.
	ErrInvalidKey = errors.New("wallet: invalid COSE_Key")
	// ErrUnsupportedAlgorithm: the protected header's alg is not EdDSA.
	ErrUnsupportedAlgorithm = errors.New("wallet: unsupported algorithm")
	// ErrCriticalHeader: the protected header marks as critical a parameter
	// this package does not understand.
	ErrCriticalHeader = errors.New("wallet: unsupported critical header")
	// ErrDetachedPayload: the COSE_Sign1 payload is nil; detached payloads
	// are not supported because the server must see what was signed.
	ErrDetachedPayload = errors.New("wallet: detached payload not supported")
	// ErrAddressMismatch: the protected "address" header is missing, empty, or
	// differs from the address presented.
	ErrAddressMismatch = errors.New("wallet: signed address differs from the presented address")
	// ErrPayloadMismatch: the signed payload is not the expected message (or,
	// with "hashed": true, not its blake2b-224).
	ErrPayloadMismatch = errors.New("wallet: signed payload differs from the message")
	// ErrKeyMismatch: the public key does not hash to the address's payment
	// key hash.
	ErrKeyMismatch = errors.New("wallet: key does not match the address")
	// ErrBadSignature: the Ed25519 signature does not verify.
	ErrBadSignature = errors.New("wallet: signature does not verify")
)
