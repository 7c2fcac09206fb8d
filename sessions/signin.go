package sessions

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/spot"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/wallet"
)

// Challenge is what a wallet is asked to sign.
type Challenge struct {
	Nonce     string
	Message   string
	ExpiresAt time.Time
}

// ErrInvalidAddress is returned by Challenge for an address that cannot
// sign in on this server.
var ErrInvalidAddress = espresso.E(espresso.Invalid, "sessions: not a payment-key address of this network")

// Challenges are stateless: the nonce carries its issue and expiry times and
// a MAC binding it to the address and network, so handing them out writes
// nothing and a flood of challenge requests cannot grow storage. Only a
// nonce that completes a sign-in is recorded (until it expires), which makes
// each usable once.
//
// The nonce is hex of: 16 random bytes | issued-at (uint32 Unix seconds) |
// expires-at (uint32) | 16 bytes of HMAC-SHA-256 over all that, the network
// and the address.
const (
	nonceRandom = 16
	nonceMAC    = 16
	nonceLen    = nonceRandom + 4 + 4 + nonceMAC
)

// Challenge returns a fresh challenge for addr, which must be a payment-key
// address of the server's network (else ErrInvalidAddress). It writes
// nothing.
func (s *Service) Challenge(addr string) (Challenge, error) {
	a, err := wallet.ParsePaymentAddress(addr, s.opts.Network)
	if err != nil {
		return Challenge{}, ErrInvalidAddress
	}
	issued := s.opts.Clock.Now().Truncate(time.Second)
	expires := issued.Add(s.opts.ChallengeTTL)
	var n [nonceLen]byte
	if _, err := rand.Read(n[:nonceRandom]); err != nil {
		return Challenge{}, espresso.Wrap(espresso.Internal, err, "sessions: nonce")
	}
	binary.BigEndian.PutUint32(n[nonceRandom:], uint32(issued.Unix()))
	binary.BigEndian.PutUint32(n[nonceRandom+4:], uint32(expires.Unix()))
	copy(n[nonceLen-nonceMAC:], s.mac(n[:nonceLen-nonceMAC], a))
	nonce := hex.EncodeToString(n[:])
	return Challenge{Nonce: nonce, Message: s.message(a, nonce, issued, expires), ExpiresAt: expires}, nil
}

func (s *Service) mac(body []byte, a wallet.Address) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write(body)
	m.Write([]byte{byte(s.opts.Network)})
	m.Write(a.Bytes())
	return m.Sum(nil)[:nonceMAC]
}

// message is the text the wallet signs, in the style of Sign-In with
// Ethereum (EIP-4361) and CIP-93: who asks, for which address, on which
// network, and until when.
func (s *Service) message(a wallet.Address, nonce string, issued, expires time.Time) string {
	return fmt.Sprintf(`%s wants you to sign in with your Cardano account:
%s

Sign in to the trading API to manage your API keys. Signing costs nothing and moves no funds.

URI: %s
Version: 1
Network: %s
Nonce: %s
Issued At: %s
Expiration Time: %s`, s.domain, a.String(), s.opts.PublicURL, s.opts.Network, nonce,
		issued.UTC().Format(time.RFC3339), expires.UTC().Format(time.RFC3339))
}

// Proof is a wallet's answer to a challenge.
type Proof struct {
	Wallet    string
	Nonce     string
	Signature string // COSE_Sign1, hex
	Key       string // COSE_Key, hex

	// Onboarding, if set, is not part of the proof: it is the operation key
	// the platform's web app sends with its sign-in, which SignIn stores at
	// the account's first onboarding (see SignIn).
	Onboarding *store.OperationKey
}

// Session is a completed sign-in.
type Session struct {
	AccountID       string
	Token           string
	ExpiresAt       time.Time
	FirstTime       bool // the account was created by this sign-in
	OnboardingReady bool // the account has an operation key (this sign-in's, or an earlier one)
}

// SignIn verifies a proof and, if it holds, consumes its nonce and returns
// a session for the wallet's account, creating the account at its first
// sign-in. With p.Onboarding set, the account also gets that operation key
// if it has none yet, in the same commit; a later sign-in's is ignored (the
// key is re-encrypted through the spot account, never replaced).
//
// Errors: an Onboarding that is not a valid blob and hash is
// espresso.Invalid, checked before anything else, so that nothing is
// stored and the nonce stays unused; every failure to prove (wrong
// network, another address, an unknown, expired or used nonce, a bad
// signature) is espresso.ErrUnauthorized.
func (s *Service) SignIn(ctx context.Context, p Proof) (Session, error) {
	if p.Onboarding != nil {
		if err := spot.CheckOperationKey(*p.Onboarding); err != nil {
			return Session{}, err
		}
	}
	a, err := wallet.ParsePaymentAddress(p.Wallet, s.opts.Network)
	if err != nil {
		return Session{}, espresso.ErrUnauthorized
	}
	issued, expires, ok := s.openNonce(p.Nonce, a)
	if !ok || !s.opts.Clock.Now().Before(expires) {
		return Session{}, espresso.ErrUnauthorized
	}
	msg := s.message(a, p.Nonce, issued, expires)
	if err := wallet.VerifySignData(a, s.opts.Network, []byte(msg), p.Signature, p.Key); err != nil {
		return Session{}, espresso.ErrUnauthorized
	}
	id, err := newSessionID()
	if err != nil {
		return Session{}, err
	}
	now := s.opts.Clock.Now()
	exp := now.Add(min(s.opts.TokenTTL, s.opts.MaxLifetime)).Truncate(time.Second)
	in, err := s.st.SignInSession(ctx, a.String(), p.Nonce, expires, p.Onboarding, store.NewSession{Hash: hashID(id), ExpiresAt: exp})
	if errors.Is(err, store.ErrNonceUsed) {
		return Session{}, espresso.ErrUnauthorized
	}
	if err != nil {
		return Session{}, err
	}
	// Known here at once: the token works on this node as soon as it is
	// answered, and on the others after a catch-up at worst.
	s.live.apply(in.Events)
	acct := in.Account
	token, err := s.tokens.issue(id, acct.ID, acct.WalletAddress, now.Truncate(time.Second), exp)
	if err != nil {
		return Session{}, err
	}
	return Session{AccountID: acct.ID, Token: token, ExpiresAt: exp, FirstTime: in.Created, OnboardingReady: acct.Onboarded}, nil
}

// openNonce checks a nonce's MAC against the address and network and
// returns its times.
func (s *Service) openNonce(nonce string, a wallet.Address) (issued, expires time.Time, ok bool) {
	if len(nonce) != 2*nonceLen {
		return
	}
	var n [nonceLen]byte
	if _, err := hex.Decode(n[:], []byte(nonce)); err != nil || hex.EncodeToString(n[:]) != nonce {
		return // not hex, or not the lower-case form the message carried
	}
	if subtle.ConstantTimeCompare(n[nonceLen-nonceMAC:], s.mac(n[:nonceLen-nonceMAC], a)) != 1 {
		return
	}
	issued = time.Unix(int64(binary.BigEndian.Uint32(n[nonceRandom:])), 0)
	expires = time.Unix(int64(binary.BigEndian.Uint32(n[nonceRandom+4:])), 0)
	return issued, expires, true
}
