// Package opkey is a bot's operation key as it travels and rests: sealed
// with its owner's password into a blob that the server keeps and hands
// back to the owner's bots, which open it locally. The server never sees
// the password or the key; it checks only that a blob and a hash have the
// right form (ParseBlob, CheckHash). It is pure (no I/O beyond crypto/rand)
// and depends on nothing else in espresso.
//
// The scheme is the one the platform's clients implement:
//
//   - the key: PBKDF2-HMAC-SHA256 of the password (its UTF-8 bytes) with
//     the blob's salt, 100,000 iterations, 32 bytes;
//   - the cipher: AES-256-GCM, the 16-byte tag appended to the ciphertext;
//   - the blob: the JSON text {"iv": b64, "salt": b64, "ciphertext": b64},
//     in standard, padded base64. Older blobs have no salt: they mean a
//     zero salt as long as the IV.
//
// The platform's web app uses a 16-byte IV, which its Go client cannot
// open (cipher.NewGCM takes 12-byte nonces only); its Python and TypeScript
// clients take either. Seal therefore makes a 12-byte IV and a 16-byte
// salt, which every client opens, and Open takes both IV sizes and both
// forms.
package opkey

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
)

// The scheme's sizes and limits.
const (
	// Iterations is PBKDF2's iteration count.
	Iterations = 100_000
	// IVSize and SaltSize are what Seal makes.
	IVSize   = 12
	SaltSize = 16
	// MinIVSize and MaxIVSize bound the IVs a blob may carry: 12 bytes
	// (what espresso and GCM's standard make) to 16 (the web app's).
	MinIVSize = 12
	MaxIVSize = 16
	// TagSize is GCM's tag, the least a ciphertext can be (an empty key).
	TagSize = 16
	// MaxBlobLen bounds a blob's text, in bytes: a root key in bech32 is
	// 165 characters, its blob about 300.
	MaxBlobLen = 4096
	// MaxHashLen bounds a key hash's text: SHA-512 in hex.
	MaxHashLen = 128
)

// The reasons a blob or a hash is refused, and a blob not opened. The
// errors this package returns match exactly one of them with errors.Is;
// none repeats the input.
var (
	// ErrInvalidBlob: not a blob of the scheme's form: too long, not the
	// JSON object with exactly "iv", "ciphertext" and optionally "salt" as
	// strings, a field not canonical standard base64, an IV not of 12 to 16
	// bytes, a salt not of 16, a ciphertext shorter than the tag.
	ErrInvalidBlob = errors.New("opkey: not an encrypted operation key of the expected form")
	// ErrInvalidHash: a key hash that is not non-empty hex of at most
	// MaxHashLen characters, in whole bytes.
	ErrInvalidHash = errors.New("opkey: not an operation key hash (hex, at most 128 characters)")
	// ErrWrongPassword: the blob does not open with this password (or was
	// altered: GCM cannot tell the two apart).
	ErrWrongPassword = errors.New("opkey: the password does not open this operation key")
	// ErrEmptyPassword: Seal will not seal a key with no password.
	ErrEmptyPassword = errors.New("opkey: the password is empty")
)

// Blob is an encrypted operation key, decoded.
type Blob struct {
	IV         []byte
	Salt       []byte // nil: the older form, a zero salt as long as IV
	Ciphertext []byte // with the GCM tag at its end
}

// ParseBlob decodes and checks a blob's text (see ErrInvalidBlob for what
// it must be). JSON allows whitespace between tokens and escapes in
// strings, so the same blob has several texts; callers that store a blob
// keep the text they were given, byte for byte.
func ParseBlob(s string) (Blob, error) {
	if len(s) > MaxBlobLen {
		return Blob{}, ErrInvalidBlob
	}
	fields, ok := stringFields(s)
	if !ok {
		return Blob{}, ErrInvalidBlob
	}
	var b Blob
	for name, value := range fields {
		v, ok := decodeBase64(value)
		if !ok {
			return Blob{}, ErrInvalidBlob
		}
		switch name {
		case "iv":
			b.IV = v
		case "salt":
			b.Salt = v
		case "ciphertext":
			b.Ciphertext = v
		default:
			return Blob{}, ErrInvalidBlob
		}
	}
	_, hasSalt := fields["salt"]
	switch {
	case b.IV == nil || b.Ciphertext == nil,
		len(b.IV) < MinIVSize || len(b.IV) > MaxIVSize,
		hasSalt && len(b.Salt) != SaltSize,
		len(b.Ciphertext) < TagSize:
		return Blob{}, ErrInvalidBlob
	}
	return b, nil
}

// stringFields reads s as one JSON object whose values are all strings, no
// name repeated, and nothing after it.
func stringFields(s string) (map[string]string, bool) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	fields := map[string]string{}
	for dec.More() {
		name, err := dec.Token()
		if err != nil {
			return nil, false
		}
		value, err := dec.Token()
		n, ok1 := name.(string)
		v, ok2 := value.(string)
		if err != nil || !ok1 || !ok2 {
			return nil, false
		}
		if _, dup := fields[n]; dup {
			return nil, false
		}
		fields[n] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // something after the object
	}
	return fields, true
}

// decodeBase64 decodes canonical, padded standard base64: the decoder
// alone would skip line breaks and ignore stray low bits, so the text must
// also be what encoding the bytes gives back.
func decodeBase64(s string) ([]byte, bool) {
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil || base64.StdEncoding.EncodeToString(v) != s {
		return nil, false
	}
	return v, true
}

// String returns the blob's text, fields in the order the platform's
// clients write them: {"iv", "salt", "ciphertext"}, salt left out in the
// older form.
func (b Blob) String() string {
	var buf bytes.Buffer
	buf.WriteString(`{"iv":"`)
	buf.WriteString(base64.StdEncoding.EncodeToString(b.IV))
	if b.Salt != nil {
		buf.WriteString(`","salt":"`)
		buf.WriteString(base64.StdEncoding.EncodeToString(b.Salt))
	}
	buf.WriteString(`","ciphertext":"`)
	buf.WriteString(base64.StdEncoding.EncodeToString(b.Ciphertext))
	buf.WriteString(`"}`)
	return buf.String()
}

// CheckHash reports whether s has the form of an operation key hash:
// ErrInvalidHash unless it is 2 to MaxHashLen hex digits (either case), an
// even number of them. The server keeps hashes as given, without knowing
// how they were made.
func CheckHash(s string) error {
	if len(s) == 0 || len(s) > MaxHashLen || len(s)%2 != 0 {
		return ErrInvalidHash
	}
	if _, err := hex.DecodeString(s); err != nil {
		return ErrInvalidHash
	}
	return nil
}

// Hash is espresso's operation key hash: the SHA-256 of the key's text (the
// plaintext sealed in the blob, a root key's "xprv1…"), in lower-case hex.
// A bot can check what it opened against it without decoding the key.
func Hash(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])
}

// Seal encrypts key with password as the scheme says, with a fresh 12-byte
// IV and 16-byte salt from crypto/rand, and returns the blob's text.
// ErrEmptyPassword if password is empty.
func Seal(key []byte, password string) (string, error) {
	if password == "" {
		return "", ErrEmptyPassword
	}
	b := Blob{IV: make([]byte, IVSize), Salt: make([]byte, SaltSize)}
	if _, err := rand.Read(b.IV); err != nil {
		return "", err
	}
	if _, err := rand.Read(b.Salt); err != nil {
		return "", err
	}
	aead, err := newAEAD(password, b)
	if err != nil {
		return "", err
	}
	b.Ciphertext = aead.Seal(nil, b.IV, key, nil)
	return b.String(), nil
}

// Open decrypts a blob's text with password and returns the key sealed in
// it. ErrInvalidBlob if the text is not a blob, ErrWrongPassword if the
// password does not open it.
func Open(blob, password string) ([]byte, error) {
	b, err := ParseBlob(blob)
	if err != nil {
		return nil, err
	}
	aead, err := newAEAD(password, b)
	if err != nil {
		return nil, err
	}
	key, err := aead.Open(nil, b.IV, b.Ciphertext, nil)
	if err != nil {
		return nil, ErrWrongPassword
	}
	return key, nil
}

// newAEAD derives the blob's AES-256-GCM from password.
func newAEAD(password string, b Blob) (cipher.AEAD, error) {
	salt := b.Salt
	if salt == nil {
		salt = make([]byte, len(b.IV)) // the older form
	}
	k, err := pbkdf2.Key(sha256.New, password, salt, Iterations, 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	if len(b.IV) == IVSize {
		return cipher.NewGCM(block)
	}
	return cipher.NewGCMWithNonceSize(block, len(b.IV))
}
