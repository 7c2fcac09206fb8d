package opkey

import (
	"bytes"
	"testing"
)

// FuzzParseBlob feeds ParseBlob arbitrary text, as a client may send it:
// it never panics, and a blob it accepts keeps every limit and reads back
// the same from its own String.
func FuzzParseBlob(f *testing.F) {
	for _, s := range badBlobs() {
		f.Add(s)
	}
	f.Add(validBlob(b64(12), b64(16), b64(40)))
	f.Add(validBlob(b64(16), "", b64(16)))
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBlob(s)
		if err != nil {
			return
		}
		if len(s) > MaxBlobLen || len(b.IV) < MinIVSize || len(b.IV) > MaxIVSize ||
			(b.Salt != nil && len(b.Salt) != SaltSize) || len(b.Ciphertext) < TagSize {
			t.Fatalf("accepted %q: IV %d, salt %d, ciphertext %d bytes", s, len(b.IV), len(b.Salt), len(b.Ciphertext))
		}
		again, err := ParseBlob(b.String())
		if err != nil || !bytes.Equal(again.IV, b.IV) || !bytes.Equal(again.Salt, b.Salt) ||
			!bytes.Equal(again.Ciphertext, b.Ciphertext) || (again.Salt == nil) != (b.Salt == nil) {
			t.Fatalf("%q reads back differently from its String %q: %v", s, b.String(), err)
		}
	})
}
