package apikey

import "testing"

// FuzzParse checks that no input panics Parse, and that whatever it accepts
// is exactly a key of the asked environment that round-trips.
func FuzzParse(f *testing.F) {
	k, err := New(Live)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.String())
	f.Add(fixedKey)
	f.Add("")
	f.Add("dk_test_abc")
	f.Fuzz(func(t *testing.T, s string) {
		for _, env := range []Env{Live, Test} {
			k, err := Parse(s, env)
			if err != nil {
				continue
			}
			if k.String() != s || k.Env() != env || len(k.Mask()) == 0 {
				t.Fatalf("Parse(%q, %v) accepted a key that does not round-trip", s, env)
			}
		}
	})
}

func BenchmarkParseAndHash(b *testing.B) {
	k, err := New(Live)
	if err != nil {
		b.Fatal(err)
	}
	s := k.String()
	b.ReportAllocs()
	for b.Loop() {
		k, err := Parse(s, Live)
		if err != nil {
			b.Fatal(err)
		}
		_ = k.Hash()
	}
}
