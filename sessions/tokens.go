package sessions

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/espresso-auth/espresso"
)

// maxTokenLen bounds the work a hostile Authorization header can cause.
const maxTokenLen = 4 << 10

// tokens issues and verifies the session tokens (JWT, HS256, as the
// platform uses) a wallet sign-in yields.
type tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// Claims are what a verified token says.
type Claims struct {
	AccountID string
	Wallet    string // the sub claim
	ID        string // jti
	IssuedAt  time.Time
	ExpiresAt time.Time
}

type jwtClaims struct {
	AccountID string `json:"account_id"`
	jwt.RegisteredClaims
}

func newTokens(secret []byte, ttl time.Duration, now func() time.Time) *tokens {
	return &tokens{secret: secret, ttl: ttl, now: now}
}

// issue returns a token for the account of wallet, and when it expires.
func (t *tokens) issue(accountID, wallet string) (string, time.Time, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, espresso.Wrap(espresso.Internal, err, "sessions: token id")
	}
	now := t.now().Truncate(time.Second)
	exp := now.Add(t.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		AccountID: accountID,
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   wallet,
			ID:        hex.EncodeToString(jti[:]),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	s, err := tok.SignedString(t.secret)
	if err != nil {
		return "", time.Time{}, espresso.Wrap(espresso.Internal, err, "sessions: signing a token")
	}
	return s, exp, nil
}

// verify checks a token (see Service.VerifyToken).
func (t *tokens) verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, espresso.ErrUnauthorized
	}
	var c jwtClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	if err != nil || c.AccountID == "" || c.Subject == "" || c.ID == "" || c.IssuedAt == nil {
		return Claims{}, espresso.ErrUnauthorized
	}
	return Claims{AccountID: c.AccountID, Wallet: c.Subject, ID: c.ID,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}
