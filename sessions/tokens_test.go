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

const (
	testIssuer   = "https://api.example.test"
	testAudience = "mainnet"
)

func newTestTokens(now func() time.Time) *tokens {
	return newTokens([]byte(secret), testIssuer, testAudience, now)
}

// issueAt issues a token for a fresh session id, valid for an hour from now.
func issueAt(t testing.TB, tk *tokens, now time.Time) (string, time.Time) {
	t.Helper()
	id, err := newSessionID()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.issue(id, "acct-1", "addr1xyz", now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return tok, now.Add(time.Hour)
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
	tok, exp := issueAt(t, tk, now)
	c, err := tk.verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountID != "acct-1" || c.Wallet != "addr1xyz" || len(c.ID) != 32 || !c.IssuedAt.Equal(now) || !c.ExpiresAt.Equal(exp) {
		t.Errorf("claims %+v", c)
	}
	other, _ := issueAt(t, tk, now)
	if other == tok {
		t.Error("two tokens share a jti")
	}
}

func TestTokens_RefuseEveryTokenTheyDidNotIssueAsIs(t *testing.T) {
	now := time.Date(2026, 11, 27, 18, 0, 0, 0, time.UTC)
	clock := now
	tk := newTestTokens(func() time.Time { return clock })
	good, _ := issueAt(t, tk, now)
	claims := map[string]any{"account_id": "acct-1", "sub": "addr1xyz", "jti": "j", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"iss": testIssuer, "aud": testAudience}
	with := func(k string, v any) map[string]any {
		c := map[string]any{k: v}
		for kk, vv := range claims {
			if kk != k {
				c[kk] = vv
			}
		}
		return c
	}
	hs256 := map[string]any{"alg": "HS256", "typ": "JWT"}
	if _, err := tk.verify(forge(hs256, claims, []byte(secret))); err != nil {
		t.Fatalf("the forged claims as they are: %v (the cases below would prove nothing)", err)
	}
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
		"no iss":                forge(hs256, without("iss"), []byte(secret)),
		"another issuer":        forge(hs256, with("iss", "https://testnet.example.test"), []byte(secret)),
		"no aud":                forge(hs256, without("aud"), []byte(secret)),
		"another network":       forge(hs256, with("aud", "testnet"), []byte(secret)),
		"another network among": forge(hs256, with("aud", []string{"testnet", "preprod"}), []byte(secret)),
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
