// Package platformclient is a bot's side of the operation-key scheme as the
// platform's Go client implements it, written from the scheme's text alone
// and independently of package opkey: tests hold what opkey, the CLI and
// the dashboard seal against it, so a mistake shared by the sealing and
// opening code of opkey cannot pass unnoticed.
package platformclient

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrIVSize is the platform's Go client's panic, as an error: cipher.NewGCM
// takes a 12-byte IV only.
var ErrIVSize = errors.New("platformclient: the IV is not 12 bytes: the platform's Go client panics on it")

// OpenOperationKey opens the encrypted operation key blob with password as
// the platform's Go client does: the JSON text {"iv", "salt", "ciphertext"}
// in standard base64 (no salt: a zero salt as long as the IV),
// PBKDF2-HMAC-SHA256 with 100,000 iterations to a 32-byte key, AES-256-GCM
// with the tag after the ciphertext.
func OpenOperationKey(blob, password string) ([]byte, error) {
	var f struct {
		IV         string  `json:"iv"`
		Salt       *string `json:"salt"`
		Ciphertext string  `json:"ciphertext"`
	}
	if err := json.Unmarshal([]byte(blob), &f); err != nil {
		return nil, fmt.Errorf("platformclient: the blob is not JSON: %w", err)
	}
	iv, err := base64.StdEncoding.DecodeString(f.IV)
	if err != nil {
		return nil, fmt.Errorf("platformclient: iv: %w", err)
	}
	salt := make([]byte, len(iv))
	if f.Salt != nil {
		if salt, err = base64.StdEncoding.DecodeString(*f.Salt); err != nil {
			return nil, fmt.Errorf("platformclient: salt: %w", err)
		}
	}
	ct, err := base64.StdEncoding.DecodeString(f.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("platformclient: ciphertext: %w", err)
	}
	key, err := pbkdf2.Key(sha256.New, password, salt, 100_000, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(iv) != gcm.NonceSize() {
		return nil, ErrIVSize
	}
	plain, err := gcm.Open(nil, iv, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("platformclient: the key does not open with the password: %w", err)
	}
	return plain, nil
}
