package wallet

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/blake2b"
)

// Network is a Cardano network, numbered by the network id that Shelley
// addresses carry in the low nibble of their header byte. The zero value is
// Testnet, so a forgotten setting never points at real funds.
type Network uint8

// The networks espresso serves. Every Cardano test network (preprod,
// preview, …) shares network id 0.
const (
	Testnet Network = 0
	Mainnet Network = 1
)

// ParseNetwork returns the Network named "mainnet" or "testnet" (exactly, in
// lower case); any other name yields ErrUnknownNetwork.
func ParseNetwork(s string) (Network, error) {
	switch s {
	case "mainnet":
		return Mainnet, nil
	case "testnet":
		return Testnet, nil
	}
	return 0, ErrUnknownNetwork
}

// String returns "mainnet", "testnet", or "network(N)" for an id espresso
// does not serve.
func (n Network) String() string {
	switch n {
	case Mainnet:
		return "mainnet"
	case Testnet:
		return "testnet"
	}
	return "network(" + strconv.Itoa(int(n)) + ")"
}

func (n Network) valid() bool { return n == Mainnet || n == Testnet }

// AddressType is the Shelley address type, the high nibble of the header
// byte (CIP-19). Its name says what the payment part, then the delegation
// part, is: a key hash, a script hash, or a chain pointer.
type AddressType uint8

// The Shelley address types. 8 is Byron (never bech32) and 9–13 are
// unassigned; ParseAddress refuses them.
const (
	TypeBaseKeyKey       AddressType = 0
	TypeBaseScriptKey    AddressType = 1
	TypeBaseKeyScript    AddressType = 2
	TypeBaseScriptScript AddressType = 3
	TypePointerKey       AddressType = 4
	TypePointerScript    AddressType = 5
	TypeEnterpriseKey    AddressType = 6
	TypeEnterpriseScript AddressType = 7
	TypeRewardKey        AddressType = 14
	TypeRewardScript     AddressType = 15
)

// String names the type, e.g. "base(key,key)" or "reward(script)".
func (t AddressType) String() string {
	switch t {
	case TypeBaseKeyKey:
		return "base(key,key)"
	case TypeBaseScriptKey:
		return "base(script,key)"
	case TypeBaseKeyScript:
		return "base(key,script)"
	case TypeBaseScriptScript:
		return "base(script,script)"
	case TypePointerKey:
		return "pointer(key)"
	case TypePointerScript:
		return "pointer(script)"
	case TypeEnterpriseKey:
		return "enterprise(key)"
	case TypeEnterpriseScript:
		return "enterprise(script)"
	case TypeRewardKey:
		return "reward(key)"
	case TypeRewardScript:
		return "reward(script)"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// hasPaymentKey reports whether the address's payment credential is a key
// hash, i.e. whether a wallet can prove control of it with signData.
func (t AddressType) hasPaymentKey() bool {
	switch t {
	case TypeBaseKeyKey, TypeBaseKeyScript, TypePointerKey, TypeEnterpriseKey:
		return true
	}
	return false
}

const (
	// maxAddressLen bounds the text ParseAddress will look at. The longest
	// legitimate address (a testnet pointer address with three 10-byte
	// naturals) is 119 characters.
	maxAddressLen = 200
	hashLen       = 28 // blake2b-224: key and script hashes
	headerLen     = 1
	// maxPointerNatural is the longest variable-length natural that fits in
	// a uint64: ceil(64/7) groups of 7 bits.
	maxPointerNatural = 10
)

// Address is a Shelley-era Cardano address that ParseAddress (or
// NewEnterpriseAddress) has validated. It is comparable: two Addresses are
// == exactly when their bytes are equal. The zero Address is not a valid
// address; its String is "" and PaymentKeyHash reports false.
type Address struct {
	raw  string // header byte and credentials, as a string to stay immutable
	text string // canonical (lower-case) bech32
}

// String returns the address in canonical lower-case bech32, which is the
// form to store and compare: an upper-case input parses to the same String.
func (a Address) String() string { return a.text }

// Bytes returns a fresh copy of the raw address bytes (header included), as
// they appear in the CIP-30 "address" header.
func (a Address) Bytes() []byte { return []byte(a.raw) }

// Network returns the network id from the header byte.
func (a Address) Network() Network {
	if a.raw == "" {
		return 0
	}
	return Network(a.raw[0] & 0x0f)
}

// Type returns the address type from the header byte.
func (a Address) Type() AddressType {
	if a.raw == "" {
		return 0
	}
	return AddressType(a.raw[0] >> 4)
}

// PaymentKeyHash returns the blake2b-224 hash of the payment verification
// key and true when the payment credential is a key hash (types 0, 2, 4, 6);
// otherwise it returns false.
func (a Address) PaymentKeyHash() ([hashLen]byte, bool) {
	var h [hashLen]byte
	if len(a.raw) < headerLen+hashLen || !a.Type().hasPaymentKey() {
		return h, false
	}
	copy(h[:], a.raw[headerLen:])
	return h, true
}

// hrpFor is the CIP-5 human-readable part for an address of type t on
// network n.
func hrpFor(t AddressType, n Network) string {
	prefix := "addr"
	if t == TypeRewardKey || t == TypeRewardScript {
		prefix = "stake"
	}
	if n == Testnet {
		return prefix + "_test"
	}
	return prefix
}

// Details wrapped inside ErrInvalidAddress, for logs and tests.
var (
	errUnknownType      = errors.New("unknown header type")
	errPointerTruncated = errors.New("truncated pointer")
	errPointerOverlong  = errors.New("non-minimal pointer")
	errPointerOverflow  = errors.New("pointer overflows 64 bits")
	errPointerTrailing  = errors.New("trailing bytes after pointer")
	errEmpty            = errors.New("no header byte")
	errLength           = errors.New("wrong length")
	errNetworkID        = errors.New("unknown network id")
	errPrefix           = errors.New("prefix does not match the header")
)

// checkRaw checks an address's raw bytes: a header whose network is known,
// and the exact length for its type. Its errors are ErrInvalidAddress.
func checkRaw(raw []byte) (AddressType, Network, error) {
	if len(raw) == 0 {
		return 0, 0, fmt.Errorf("%w: %w", ErrInvalidAddress, errEmpty)
	}
	t, n := AddressType(raw[0]>>4), Network(raw[0]&0x0f)
	if !n.valid() {
		return 0, 0, fmt.Errorf("%w: %w %d", ErrInvalidAddress, errNetworkID, n)
	}
	if err := checkLength(t, raw[headerLen:]); err != nil {
		return 0, 0, fmt.Errorf("%w: %s: %w", ErrInvalidAddress, t, err)
	}
	return t, n, nil
}

// ParseAddress parses the bech32 text of any Shelley address: base, pointer,
// enterprise or reward, on mainnet or testnet. It checks the BIP-173
// checksum, the case, the header type, the network id, that the
// human-readable part matches them (addr/addr_test, stake/stake_test) and
// the exact length for the type. Every failure is ErrInvalidAddress; no input
// makes it panic.
func ParseAddress(s string) (Address, error) {
	hrp, data, err := bech32Decode(s, maxAddressLen)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", ErrInvalidAddress, err)
	}
	raw, err := convertBits(data, 5, 8, false)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", ErrInvalidAddress, err)
	}
	t, n, err := checkRaw(raw)
	if err != nil {
		return Address{}, err
	}
	if hrp != hrpFor(t, n) {
		return Address{}, fmt.Errorf("%w: %w (%s %s)", ErrInvalidAddress, errPrefix, n, t)
	}
	return Address{raw: string(raw), text: bech32Encode(hrp, data)}, nil
}

// checkLength checks the credentials after the header byte against the
// layout of type t.
func checkLength(t AddressType, body []byte) error {
	switch t {
	case TypeBaseKeyKey, TypeBaseScriptKey, TypeBaseKeyScript, TypeBaseScriptScript:
		if len(body) != 2*hashLen {
			return fmt.Errorf("%w %d, want %d", errLength, len(body)+headerLen, headerLen+2*hashLen)
		}
	case TypeEnterpriseKey, TypeEnterpriseScript, TypeRewardKey, TypeRewardScript:
		if len(body) != hashLen {
			return fmt.Errorf("%w %d, want %d", errLength, len(body)+headerLen, headerLen+hashLen)
		}
	case TypePointerKey, TypePointerScript:
		if len(body) < hashLen {
			return fmt.Errorf("%w %d, too short", errLength, len(body)+headerLen)
		}
		return checkPointer(body[hashLen:])
	default:
		return errUnknownType
	}
	return nil
}

// checkPointer requires p to be exactly three variable-length naturals
// (slot, transaction index, certificate index), each fitting a uint64 and
// minimally encoded, so that one pointer has one spelling.
func checkPointer(p []byte) error {
	for range 3 {
		n := 0
		for {
			if n >= len(p) {
				return errPointerTruncated
			}
			if n == 0 && p[0] == 0x80 {
				return errPointerOverlong
			}
			n++
			if p[n-1]&0x80 == 0 {
				break
			}
			if n == maxPointerNatural {
				return errPointerOverflow
			}
		}
		if n == maxPointerNatural && p[0] > 0x81 {
			// The first of ten groups carries bits 63..70; only bit 63 fits.
			return errPointerOverflow
		}
		p = p[n:]
	}
	if len(p) != 0 {
		return errPointerTrailing
	}
	return nil
}

// ParsePaymentAddress is the account policy: s must be a valid address (see
// ParseAddress) of network net whose payment credential is a key hash, i.e.
// a key-based base, pointer or enterprise address (addr1… on mainnet,
// addr_test1… on testnet). It returns ErrInvalidAddress for anything
// malformed (including Byron addresses), ErrWrongNetwork for a valid address
// of the other network, and ErrNotPaymentKeyAddress for script and stake
// addresses.
func ParsePaymentAddress(s string, net Network) (Address, error) {
	a, err := ParseAddress(s)
	if err != nil {
		return Address{}, err
	}
	if err := checkPaymentAddress(a, net); err != nil {
		return Address{}, err
	}
	return a, nil
}

// checkPaymentAddress is the policy half of ParsePaymentAddress, shared
// with VerifySignData so an Address built by other means gets the same test.
func checkPaymentAddress(a Address, net Network) error {
	if a.raw == "" {
		return fmt.Errorf("%w: %w", ErrInvalidAddress, errEmpty)
	}
	if a.Network() != net {
		return fmt.Errorf("%w: %s address, want %s", ErrWrongNetwork, a.Network(), net)
	}
	if _, ok := a.PaymentKeyHash(); !ok {
		return fmt.Errorf("%w: %s", ErrNotPaymentKeyAddress, a.Type())
	}
	return nil
}

// NewEnterpriseAddress returns the enterprise address (type 6, no
// delegation part) of the Ed25519 public key pub on net. Like crypto/ed25519,
// it panics if pub is not 32 bytes long, and it also panics if net is neither
// Mainnet nor Testnet: both are programming errors, not input errors.
func NewEnterpriseAddress(pub ed25519.PublicKey, net Network) Address {
	if len(pub) != ed25519.PublicKeySize {
		panic("wallet: bad public key length: " + strconv.Itoa(len(pub)))
	}
	if !net.valid() {
		panic("wallet: unknown network " + net.String())
	}
	raw := make([]byte, 0, headerLen+hashLen)
	raw = append(raw, byte(TypeEnterpriseKey)<<4|byte(net))
	h := blake2b224(pub)
	raw = append(raw, h[:]...)
	data, _ := convertBits(raw, 8, 5, true) // cannot fail: every input byte is 8 bits
	return Address{raw: string(raw), text: bech32Encode(hrpFor(TypeEnterpriseKey, net), data)}
}

// blake2b224 is the hash Cardano uses for key and script credentials, and
// CIP-8 for "hashed" payloads.
func blake2b224(b []byte) [hashLen]byte {
	var h [hashLen]byte
	d, _ := blake2b.New(hashLen, nil) // cannot fail: the size is valid and there is no key
	d.Write(b)
	d.Sum(h[:0])
	return h
}

// AddressFromBytes returns the Address whose raw bytes (header included, as
// Bytes returns them) are raw, checked as ParseAddress checks the text: a
// compact form to keep in memory and turn back into text when needed.
// Every failure is ErrInvalidAddress.
func AddressFromBytes(raw []byte) (Address, error) {
	t, n, err := checkRaw(raw)
	if err != nil {
		return Address{}, err
	}
	data, err := convertBits(raw, 8, 5, true)
	if err != nil {
		return Address{}, fmt.Errorf("%w: %w", ErrInvalidAddress, err)
	}
	return Address{raw: string(raw), text: bech32Encode(hrpFor(t, n), data)}, nil
}
