package apikey

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestNew_KeysParseBackInTheirEnvironmentOnly(t *testing.T) {
	for _, env := range []Env{Live, Test} {
		k, err := New(env)
		if err != nil {
			t.Fatal(err)
		}
		s := k.String()
		if len(s) != Len || !strings.HasPrefix(s, env.Prefix()) {
			t.Fatalf("New(%v) = %q: want %d chars starting %q", env, s, Len, env.Prefix())
		}
		if _, err := Parse(s, env); err != nil {
			t.Errorf("Parse(New(%v)) = %v", env, err)
		}
		other := Live
		if env == Live {
			other = Test
		}
		if _, err := Parse(s, other); err == nil {
			t.Errorf("a %v key parsed as %v", env, other)
		}
		if k.Env() != env {
			t.Errorf("Env() = %v, want %v", k.Env(), env)
		}
	}
}

func TestNew_KeysAreDistinctAndUseTheWholeAlphabet(t *testing.T) {
	seen := map[string]bool{}
	chars := map[byte]bool{}
	for range 2000 {
		k, err := New(Live)
		if err != nil {
			t.Fatal(err)
		}
		if seen[k.String()] {
			t.Fatalf("duplicate key after %d keys", len(seen))
		}
		seen[k.String()] = true
		for i := prefixLen; i < prefixLen+randomLen; i++ {
			chars[k.String()[i]] = true
		}
	}
	// 60,000 uniform draws from 62 symbols miss one with probability ~1e-420.
	if len(chars) != 62 {
		t.Errorf("random part used %d of 62 symbols", len(chars))
	}
}

func TestParse_RefusesEverythingButAWellFormedKey(t *testing.T) {
	k, err := New(Live)
	if err != nil {
		t.Fatal(err)
	}
	good := k.String()
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":               "",
		"prefix only":         "dk_live_",
		"truncated":           good[:Len-1],
		"one extra char":      good + "a",
		"typo in random part": flip(prefixLen + 3),
		"typo in checksum":    flip(Len - 1),
		"upper-case prefix":   strings.ToUpper(good[:prefixLen]) + good[prefixLen:],
		"other prefix":        "sk_live_" + good[prefixLen:],
		"space inside":        good[:20] + " " + good[21:],
		"non-ASCII":           good[:Len-2] + "é",
		"invalid UTF-8":       good[:Len-1] + "\xff",
		"SQL":                 "dk_live_' OR '1'='1'; --                    ",
		"documented example":  "dk_live_abc123def456ghi789jkl012mno345",
		"60 KB":               strings.Repeat("a", 60<<10),
	}
	for name, s := range cases {
		if _, err := Parse(s, Live); err != ErrMalformed {
			t.Errorf("%s: Parse = %v, want ErrMalformed", name, err)
		}
	}
}

// fixedKey was computed outside Go (Python's zlib.crc32 and hashlib): the
// CRC32 of "dk_live_" + 30 zeros is 0xC82F1A26 = 3358530086, "3fI366" in
// base62 (0-9A-Za-z), and its SHA-256 is fixedHash.
const (
	fixedKey  = "dk_live_000000000000000000000000000000" + "3fI366"
	fixedHash = "5d6a9e72cdbde28c0538ea30f78a157584a5d148a011409ebf49b8f9083fef94"
)

func TestParse_ChecksumIsTheBase62CRC32OfPrefixAndRandomPart(t *testing.T) {
	if _, err := Parse(fixedKey, Live); err != nil {
		t.Errorf("Parse(fixed vector) = %v", err)
	}
}

func TestHash_IsSHA256OfTheKeyText(t *testing.T) {
	k, err := Parse(fixedKey, Live)
	if err != nil {
		t.Fatal(err)
	}
	h := k.Hash()
	if got := hex.EncodeToString(h[:]); got != fixedHash {
		t.Errorf("Hash() = %s, want %s", got, fixedHash)
	}
}
