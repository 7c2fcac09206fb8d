package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/store"
)

// MinSecretLen is the shortest signing secret accepted: HS256 wants at least
// as many bytes as its output.
const MinSecretLen = 32

// maxTokenLen bounds the work a hostile Authorization header can cause.
const maxTokenLen = 4 << 10

// Tokens issues and verifies the short-lived session tokens (JWT, HS256, as
// the platform uses) a wallet sign-in yields. Every server sharing a secret
// accepts the others' tokens.
type Tokens struct {
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

// NewTokens returns Tokens signing with secret (at least MinSecretLen
// bytes) and issuing tokens valid for ttl.
func NewTokens(secret []byte, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	if len(secret) < MinSecretLen {
		return nil, espresso.E(espresso.Invalid, fmt.Sprintf("auth: the token secret must be at least %d bytes", MinSecretLen))
	}
	if ttl <= 0 {
		return nil, espresso.E(espresso.Invalid, "auth: the token lifetime must be positive")
	}
	if now == nil {
		now = time.Now
	}
	return &Tokens{secret: secret, ttl: ttl, now: now}, nil
}

// Issue returns a token for the account of wallet, and when it expires.
func (t *Tokens) Issue(accountID, wallet string) (string, time.Time, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, espresso.Wrap(espresso.Internal, err, "auth: token id")
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
		return "", time.Time{}, espresso.Wrap(espresso.Internal, err, "auth: signing a token")
	}
	return s, exp, nil
}

// Verify checks a token's signature (HS256 only: "none" and every other
// algorithm are refused), expiry and claims. Every failure is
// ErrUnauthorized; the reason is not told.
func (t *Tokens) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, ErrUnauthorized
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
		return Claims{}, ErrUnauthorized
	}
	return Claims{AccountID: c.AccountID, Wallet: c.Subject, ID: c.ID,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}

// Secret returns the token signing secret: fromEnv when it is set (NewTokens
// checks its length), otherwise the one kept in the database,
// generated at the first start. Keeping it in the database means every
// server sharing the data accepts each other's tokens, and it is as private
// as the data directory (mode 0700) or the PostgreSQL database.
func Secret(ctx context.Context, st *store.Store, fromEnv string) ([]byte, error) {
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
