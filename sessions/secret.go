package sessions

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"strings"
	"sync"

	"github.com/espresso-auth/espresso"
)

// Settings is the part of storage that keeps server-wide settings; every
// storage backend provides it.
type Settings interface {
	Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error)
}

// Secret returns the token signing secret: fromEnv when it is set (serve
// checks it with CheckSecret first), otherwise the one kept in the
// database, generated at the first start. Keeping it in the database means
// every server sharing the data accepts each other's tokens with no
// configuration, and reading the database no longer forges a token: a
// token must also carry a live session's id, of which storage keeps only
// hashes (see the threat model in docs/security.md).
func Secret(ctx context.Context, st Settings, fromEnv string) ([]byte, error) {
	if fromEnv != "" {
		return []byte(fromEnv), nil
	}
	return st.Setting(ctx, "jwt_secret", func() ([]byte, error) {
		b := make([]byte, MinSecretLen)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return b, nil
	})
}

// ErrWeakSecret: a configured token secret is long enough but guessable.
var ErrWeakSecret = espresso.E(espresso.Invalid, "sessions: the token secret is too easy to guess: "+
	"it needs at least 24 characters that are not words, common passwords, runs (aaa, abc, 123) or a repeated pattern, "+
	"and at least 10 different characters; generate one with `openssl rand -base64 32`")

// minRandomChars and minDistinct are CheckSecret's thresholds: 24 chars of
// the 16-symbol hex alphabet are 96 bits at the least; random secrets of 32
// hex characters or more pass with a wide margin.
const (
	minRandomChars = 24
	minDistinct    = 10
)

// CheckSecret returns ErrShortSecret or ErrWeakSecret for a secret an
// operator configured that should not sign tokens: shorter than
// MinSecretLen, with fewer than 10 different characters, a repetition of a
// shorter pattern, or fewer than 24 characters left once words, common
// passwords and runs (three or more equal or consecutive characters, as
// in aaa, abc, 321) are taken out. It is the one place that knows what a
// token secret must be, so that serve refuses a bad one before it touches
// any data. It is a floor, not an entropy proof: a secret from a random
// generator passes, a phrase does not.
func CheckSecret(secret []byte) error {
	if len(secret) < MinSecretLen {
		return ErrShortSecret
	}
	if distinct(secret) < minDistinct || periodic(secret) || unguessable(secret) < minRandomChars {
		return ErrWeakSecret
	}
	return nil
}

// distinct counts the different bytes of b.
func distinct(b []byte) int {
	var seen [256]bool
	n := 0
	for _, c := range b {
		if !seen[c] {
			seen[c], n = true, n+1
		}
	}
	return n
}

// periodic reports whether b is a shorter pattern repeated (the last
// repetition may be cut short).
func periodic(b []byte) bool {
	for p := 1; p <= len(b)/2; p++ {
		if bytes.Equal(b[p:], b[:len(b)-p]) {
			return true
		}
	}
	return false
}

// unguessable counts the characters of b that are not part of a listed
// word (case-insensitively) nor of a run.
func unguessable(b []byte) int {
	lower := bytes.ToLower(b)
	guessed := make([]bool, len(b))
	for _, w := range weakWords() {
		for i := 0; i+len(w) <= len(lower); {
			j := bytes.Index(lower[i:], []byte(w))
			if j < 0 {
				break
			}
			for k := i + j; k < i+j+len(w); k++ {
				guessed[k] = true
			}
			i += j + 1
		}
	}
	for i := 2; i < len(lower); i++ {
		d1, d2 := int(lower[i-1])-int(lower[i-2]), int(lower[i])-int(lower[i-1])
		if d1 == d2 && d1 >= -1 && d1 <= 1 {
			guessed[i-2], guessed[i-1], guessed[i] = true, true, true
		}
	}
	n := 0
	for _, g := range guessed {
		if !g {
			n++
		}
	}
	return n
}

//go:embed weakwords.txt
var weakWordsFile string

// weakWords returns the list in weakwords.txt.
var weakWords = sync.OnceValue(func() []string {
	var words []string
	sc := bufio.NewScanner(strings.NewReader(weakWordsFile))
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" && !strings.HasPrefix(w, "#") {
			words = append(words, w)
		}
	}
	return words
})
