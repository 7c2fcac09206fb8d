package opkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/internal/platformclient"
)

// vector is a blob sealed by another implementation of the scheme.
type vector struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Key      string `json:"key"`
	Blob     string `json:"blob"`
}

// webCryptoVectors are blobs sealed by WebCrypto, as the platform's web app
// and TypeScript client seal them (testdata/make-vectors.mjs made them).
func webCryptoVectors(t testing.TB) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	return vs
}

func TestOpen_OpensBlobsSealedByWebCryptoInEveryForm(t *testing.T) {
	for _, v := range webCryptoVectors(t) {
		key, err := Open(v.Blob, v.Password)
		if err != nil || string(key) != v.Key {
			t.Errorf("%s: Open = %q, %v; want the key", v.Name, key, err)
			continue
		}
		if _, err := Open(v.Blob, v.Password+" "); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("%s: Open with another password: %v, want ErrWrongPassword", v.Name, err)
		}
	}
}

// openIndependently opens blob as the platform's Go client would,
// without this package's code.
func openIndependently(t testing.TB, blob, password string) []byte {
	t.Helper()
	plain, err := platformclient.OpenOperationKey(blob, password)
	if err != nil {
		t.Fatal(err)
	}
	return plain
}

func TestSeal_MakesABlobEveryClientOpens(t *testing.T) {
	key := []byte(webCryptoVectors(t)[0].Key)
	blob, err := Seal(key, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBlob(blob)
	if err != nil {
		t.Fatalf("ParseBlob(Seal): %v", err)
	}
	if len(b.IV) != 12 || len(b.Salt) != 16 || len(b.Ciphertext) != len(key)+16 {
		t.Errorf("IV %d, salt %d, ciphertext %d bytes; want 12, 16 and the key plus the tag", len(b.IV), len(b.Salt), len(b.Ciphertext))
	}
	// The fields in the order the clients write them.
	if !strings.HasPrefix(blob, `{"iv":"`) || !strings.Contains(blob, `","salt":"`) || !strings.HasSuffix(blob, `"}`) ||
		strings.Index(blob, `"salt"`) > strings.Index(blob, `"ciphertext"`) {
		t.Errorf("blob %s is not {iv, salt, ciphertext}", blob)
	}
	if got := openIndependently(t, blob, "correct horse battery staple"); !bytes.Equal(got, key) {
		t.Errorf("an independent implementation opened %q", got)
	}
	if got, err := Open(blob, "correct horse battery staple"); err != nil || !bytes.Equal(got, key) {
		t.Errorf("Open(Seal) = %q, %v", got, err)
	}
	again, err := Seal(key, "correct horse battery staple")
	if err != nil || again == blob {
		t.Errorf("two seals of one key gave the same blob (%v): the IV and salt must be fresh", err)
	}
	if _, err := Seal(key, ""); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("Seal with an empty password: %v, want ErrEmptyPassword", err)
	}
}

// validBlob returns a blob text with the given field texts.
func validBlob(iv, salt, ct string) string {
	if salt == "" {
		return `{"iv":"` + iv + `","ciphertext":"` + ct + `"}`
	}
	return `{"iv":"` + iv + `","salt":"` + salt + `","ciphertext":"` + ct + `"}`
}

func b64(n int) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa5}, n)) }

func TestParseBlob_AcceptsEveryFormTheClientsWrite(t *testing.T) {
	for name, s := range map[string]string{
		"12-byte IV, salt":              validBlob(b64(12), b64(16), b64(16)),
		"16-byte IV, salt":              validBlob(b64(16), b64(16), b64(200)),
		"13-byte IV":                    validBlob(b64(13), b64(16), b64(16)),
		"no salt (older)":               validBlob(b64(16), "", b64(16)),
		"Python's json.dumps spacing":   `{"iv": "` + b64(12) + `", "salt": "` + b64(16) + `", "ciphertext": "` + b64(40) + `"}`,
		"another field order":           `{"ciphertext":"` + b64(16) + `","salt":"` + b64(16) + `","iv":"` + b64(12) + `"}`,
		"surrounding whitespace":        " \n" + validBlob(b64(12), b64(16), b64(16)) + "\n",
		"an escaped character":          `{"iv":"\u0070` + b64(12)[1:] + `","ciphertext":"` + b64(16) + `"}`,
		"just under 4 KiB":              validBlob(b64(12), b64(16), b64((MaxBlobLen-len(validBlob(b64(12), b64(16), "")))/4*3)),
		"a ciphertext of only the tag":  validBlob(b64(12), "", b64(16)),
		"the 16-byte salt with 12 IV":   validBlob(b64(12), b64(16), b64(17)),
		"base64 with '+' and '/' in it": validBlob("+/+/+/+/+/+/+/+/", b64(16), b64(16)),
	} {
		if len(s) > MaxBlobLen {
			t.Fatalf("%s: the case is %d bytes", name, len(s))
		}
		if _, err := ParseBlob(s); err != nil {
			t.Errorf("%s: %v (%s)", name, err, s)
		}
	}
}

// badBlobs are blob texts the server must refuse, by what is wrong.
func badBlobs() map[string]string {
	iv, salt, ct := b64(12), b64(16), b64(32)
	return map[string]string{
		"empty":                    "",
		"not JSON":                 "iv=" + iv,
		"null":                     "null",
		"a JSON string":            `"` + validBlob(iv, salt, ct) + `"`,
		"an array":                 `["` + iv + `","` + salt + `","` + ct + `"]`,
		"an empty object":          "{}",
		"no iv":                    `{"salt":"` + salt + `","ciphertext":"` + ct + `"}`,
		"no ciphertext":            `{"iv":"` + iv + `","salt":"` + salt + `"}`,
		"an unknown field":         `{"iv":"` + iv + `","salt":"` + salt + `","ciphertext":"` + ct + `","tag":"` + b64(16) + `"}`,
		"a field in upper case":    `{"IV":"` + iv + `","salt":"` + salt + `","ciphertext":"` + ct + `"}`,
		"a repeated field":         `{"iv":"` + iv + `","iv":"` + iv + `","ciphertext":"` + ct + `"}`,
		"a number for the iv":      `{"iv":12,"ciphertext":"` + ct + `"}`,
		"a null salt":              `{"iv":"` + iv + `","salt":null,"ciphertext":"` + ct + `"}`,
		"an object for the salt":   `{"iv":"` + iv + `","salt":{},"ciphertext":"` + ct + `"}`,
		"an empty salt":            `{"iv":"` + iv + `","salt":"","ciphertext":"` + ct + `"}`,
		"an 11-byte IV":            validBlob(b64(11), salt, ct),
		"a 17-byte IV":             validBlob(b64(17), salt, ct),
		"an empty IV":              `{"iv":"","ciphertext":"` + ct + `"}`,
		"a 12-byte salt":           validBlob(iv, b64(12), ct),
		"a 32-byte salt":           validBlob(iv, b64(32), ct),
		"a ciphertext under a tag": validBlob(iv, salt, b64(15)),
		"an empty ciphertext":      `{"iv":"` + iv + `","ciphertext":""}`,
		"URL-safe base64":          validBlob("-_-_-_-_-_-_-_-_", salt, ct),
		"unpadded base64":          validBlob(iv, salt, strings.TrimRight(b64(17), "=")),
		"a line break in base64":   validBlob(iv, salt, b64(32)[:20]+`\n`+b64(32)[20:]),
		"a raw line break":         validBlob(iv, salt, b64(32)[:20]+"\n"+b64(32)[20:]),
		"stray low bits":           validBlob(iv, salt, b64(16)[:21]+"R=="), // canonical: "Q=="
		"hex instead of base64":    validBlob("a5a5a5a5a5a5a5a5a5a5a5a5", salt, ct),
		"space inside base64":      validBlob(iv[:4]+" "+iv[4:], salt, ct),
		"trailing data":            validBlob(iv, salt, ct) + "{}",
		"two objects":              validBlob(iv, salt, ct) + validBlob(iv, salt, ct),
		"truncated":                validBlob(iv, salt, ct)[:40],
		"over 4 KiB":               validBlob(iv, salt, b64(3100)),
		"invalid UTF-8":            `{"iv":"` + iv + "\xff" + `","ciphertext":"` + ct + `"}`,
		"a NUL byte":               `{"iv":"` + iv + `","ciphertext":"` + ct + "\x00" + `"}`,
	}
}

func TestParseBlob_RefusesEveryMalformedBlob(t *testing.T) {
	for name, s := range badBlobs() {
		if _, err := ParseBlob(s); !errors.Is(err, ErrInvalidBlob) {
			t.Errorf("%s: %v, want ErrInvalidBlob (%q)", name, err, s)
		}
		if _, err := Open(s, "password"); !errors.Is(err, ErrInvalidBlob) {
			t.Errorf("%s: Open: %v, want ErrInvalidBlob", name, err)
		}
	}
}

func TestCheckHash_AcceptsHexOfAtMost128Digits(t *testing.T) {
	for _, s := range []string{"00", "ab", "AB", "aB09", strings.Repeat("f", 64), strings.Repeat("0", 128), Hash([]byte("k"))} {
		if err := CheckHash(s); err != nil {
			t.Errorf("CheckHash(%q): %v", s, err)
		}
	}
	for name, s := range map[string]string{
		"empty":                "",
		"odd":                  "abc",
		"not hex":              "zz",
		"130 digits":           strings.Repeat("0", 130),
		"a 0x prefix":          "0xab",
		"spaces":               "ab cd",
		"a trailing line feed": "abcd\n",
		"base64":               "q83vEjRWeJA=",
		"non-ASCII":            "ab\u00e9f",
	} {
		if err := CheckHash(s); !errors.Is(err, ErrInvalidHash) {
			t.Errorf("%s: CheckHash(%q) = %v, want ErrInvalidHash", name, s, err)
		}
	}
}

func TestHash_IsTheHexSHA256OfTheKeyText(t *testing.T) {
	// SHA-256("abc"), FIPS 180-2's example.
	if got := Hash([]byte("abc")); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Hash(abc) = %s", got)
	}
}

func TestBlobString_WritesWhatParseBlobReads(t *testing.T) {
	for _, v := range webCryptoVectors(t) {
		b, err := ParseBlob(v.Blob)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		// WebCrypto's blobs are JSON.stringify's: the same text back.
		if b.String() != v.Blob {
			t.Errorf("%s: String = %s, want %s", v.Name, b, v.Blob)
		}
	}
}
