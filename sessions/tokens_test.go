package sessions

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/wallet"
)

const secret = "a test secret of thirty-two bytes"

func newTestTokens(now func() time.Time) *tokens {
	return newTokens([]byte(secret), time.Hour, now)
}

// forge signs arbitrary header and claims with HMAC-SHA-256 and the test
// secret, the way an attacker who knew the secret (or a buggy server) might.
func forge(header, claims map[string]any, key []byte) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(header) + "." + enc(claims)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestTokens_IssuedTokensVerifyWithTheirClaims(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	tk := newTestTokens(func() time.Time { return now })
	tok, exp, err := tk.issue("acct-1", "addr1xyz")
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(now.Add(time.Hour)) {
		t.Errorf("expires %v", exp)
	}
	c, err := tk.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountID != "acct-1" || c.Wallet != "addr1xyz" || len(c.ID) != 32 || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(exp) {
		t.Errorf("claims %+v", c)
	}
	other, _, _ := tk.issue("acct-1", "addr1xyz")
	if other == tok {
		t.Error("two tokens share a jti")
	}
}

func TestTokens_RefuseEveryTokenTheyDidNotIssueAsIs(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := now
	tk := newTestTokens(func() time.Time { return clock })
	good, _, err := tk.issue("acct-1", "addr1xyz")
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"account_id": "acct-1", "sub": "addr1xyz", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	without := func(k string) map[string]any {
		c := map[string]any{}
		for kk, v := range claims {
			if kk != k {
				c[kk] = v
			}
		}
		return c
	}
	_, priv, _ := ed25519.GenerateKey(nil)
	edTok, _ := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwt.MapClaims(claims)).SignedString(priv)
	parts := strings.Split(good, ".")
	cases := map[string]string{
		"empty":                 "",
		"garbage":               "not.a.jwt",
		"tampered payload":      parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"account_id":"acct-2","sub":"addr1xyz","jti":"j","iat":1,"exp":99999999999}`)) + "." + parts[2],
		"tampered signature":    parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":              base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"HS512":                 forge(map[string]any{"alg": "HS512", "typ": "JWT"}, claims, []byte(secret)),
		"EdDSA":                 edTok,
		"another secret":        forge(map[string]any{"alg": "HS256", "typ": "JWT"}, claims, []byte("another secret of thirty-two bytes")),
		"no exp":                forge(map[string]any{"alg": "HS256", "typ": "JWT"}, without("exp"), []byte(secret)),
		"no account":            forge(map[string]any{"alg": "HS256", "typ": "JWT"}, without("account_id"), []byte(secret)),
		"no sub":                forge(map[string]any{"alg": "HS256", "typ": "JWT"}, without("sub"), []byte(secret)),
		"no jti":                forge(map[string]any{"alg": "HS256", "typ": "JWT"}, without("jti"), []byte(secret)),
		"no iat":                forge(map[string]any{"alg": "HS256", "typ": "JWT"}, without("iat"), []byte(secret)),
		"issued in the future":  forge(map[string]any{"alg": "HS256", "typ": "JWT"}, map[string]any{"account_id": "a", "sub": "s", "jti": "j", "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}, []byte(secret)),
		"5 KB":                  good + strings.Repeat("A", 5<<10),
		"bearer prefix inside":  "Bearer " + good,
		"two tokens":            good + good,
		"trailing dot":          good + ".",
		"padded base64 payload": parts[0] + "." + parts[1] + "=." + parts[2],
	}
	for name, tok := range cases {
		if _, err := tk.verify(tok); err != espresso.ErrUnauthorized {
			t.Errorf("%s: Verify = %v, want espresso.ErrUnauthorized", name, err)
		}
	}
	// The genuine token is accepted until it expires, and not after.
	if _, err := tk.verify(good); err != nil {
		t.Fatalf("the genuine token: %v", err)
	}
	clock = now.Add(time.Hour + time.Second)
	if _, err := tk.verify(good); err != espresso.ErrUnauthorized {
		t.Errorf("an expired token: %v", err)
	}
}

func TestNew_RefusesABadConfiguration(t *testing.T) {
	good := Options{Network: wallet.Mainnet, PublicURL: "https://api.example.test", TokenTTL: time.Hour}
	for name, c := range map[string]struct {
		secret string
		change func(*Options)
		want   error
	}{
		"a 5-byte secret":          {"short", func(*Options) {}, ErrShortSecret},
		"a 31-byte secret":         {secret[:31], func(*Options) {}, ErrShortSecret},
		"a negative token TTL":     {secret, func(o *Options) { o.TokenTTL = -time.Second }, ErrTokenTTL},
		"no token TTL":             {secret, func(o *Options) { o.TokenTTL = 0 }, ErrTokenTTL},
		"a negative challenge TTL": {secret, func(o *Options) { o.ChallengeTTL = -time.Second }, ErrTokenTTL},
		"no public URL":            {secret, func(o *Options) { o.PublicURL = "" }, ErrPublicURL},
		"a relative public URL":    {secret, func(o *Options) { o.PublicURL = "/signin" }, ErrPublicURL},
		"an ftp public URL":        {secret, func(o *Options) { o.PublicURL = "ftp://example.test" }, ErrPublicURL},
	} {
		opts := good
		c.change(&opts)
		if _, err := New(nil, []byte(c.secret), opts); !errors.Is(err, c.want) {
			t.Errorf("%s: New = %v, want %v", name, err, c.want)
		}
	}
	if _, err := New(nil, []byte(secret), good); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
}
