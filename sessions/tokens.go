package sessions

import (
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/espresso-auth/espresso"
)

// maxTokenLen bounds the work a hostile Authorization header can cause.
const maxTokenLen = 4 << 10

// tokens issues and verifies the session tokens (JWT, HS256, as the
// platform uses) a wallet sign-in yields. A token names its issuer (the
// server's public URL) and audience (the network), so that two servers
// sharing a secret still refuse each other's tokens.
type tokens struct {
	secret   []byte
	issuer   string
	audience string
	now      func() time.Time
}

// Claims are what a verified token says.
type Claims struct {
	AccountID string
	Wallet    string // the sub claim
	ID        string // jti: the session's id
	IssuedAt  time.Time
	ExpiresAt time.Time
}

type jwtClaims struct {
	AccountID string `json:"account_id"`
	jwt.RegisteredClaims
}

func newTokens(secret []byte, issuer, audience string, now func() time.Time) *tokens {
	return &tokens{secret: secret, issuer: issuer, audience: audience, now: now}
}

// issue returns a token for the session id of the account of wallet,
// issued at iat and expiring at exp.
func (t *tokens) issue(id, accountID, wallet string, iat, exp time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{
		AccountID: accountID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Audience:  jwt.ClaimStrings{t.audience},
			Subject:   wallet,
			ID:        id,
			IssuedAt:  jwt.NewNumericDate(iat),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	})
	s, err := tok.SignedString(t.secret)
	if err != nil {
		return "", espresso.Wrap(espresso.Internal, err, "sessions: signing a token")
	}
	return s, nil
}

// verify checks a token's signature, expiry, issuer and audience; not its
// session (see Service.VerifyToken).
func (t *tokens) verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, espresso.ErrUnauthorized
	}
	var c jwtClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	if err != nil || c.AccountID == "" || c.Subject == "" || c.ID == "" || c.IssuedAt == nil {
		return Claims{}, espresso.ErrUnauthorized
	}
	return Claims{AccountID: c.AccountID, Wallet: c.Subject, ID: c.ID,
		IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}
