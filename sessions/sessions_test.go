package sessions

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/internal/clock"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
	"github.com/espresso-auth/espresso/wallet"
)

// newTestService returns a Service over a fresh SQLite database, on a fake
// clock, with no feed: its sign-ins and sign-outs are all it knows.
func newTestService(t testing.TB, opts Options) (*Service, *clock.Fake, *store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	c := clock.NewFake(time.Now())
	opts.Network, opts.PublicURL, opts.Clock = wallet.Mainnet, testIssuer, c
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	s, err := New(st, []byte(secret), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, st
}

// signIn signs a new wallet in and returns its session.
func signIn(t testing.TB, s *Service) Session {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := wallet.NewEnterpriseAddress(pub, wallet.Mainnet)
	ch, err := s.Challenge(addr.String())
	if err != nil {
		t.Fatal(err)
	}
	sig, key, err := wallet.SignData(priv, addr, []byte(ch.Message))
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.SignIn(t.Context(), Proof{Wallet: addr.String(), Nonce: ch.Nonce, Signature: sig, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// reforge re-signs a token's claims, changed by change, with the secret:
// what someone holding the secret (a database dump) could do.
func reforge(t testing.TB, s *Service, token string, change func(c *Claims)) string {
	t.Helper()
	c, err := s.tokens.verify(token)
	if err != nil {
		t.Fatal(err)
	}
	change(&c)
	tok, err := s.tokens.issue(c.ID, c.AccountID, c.Wallet, c.IssuedAt, c.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerifyToken_OnlyWhileItsSessionLives(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestService(t, Options{})
	alice, bob := signIn(t, s), signIn(t, s)
	for name, tok := range map[string]string{"alice": alice.Token, "bob": bob.Token} {
		if _, err := s.VerifyToken(t.Context(), tok); err != nil {
			t.Fatalf("%s's fresh token: %v", name, err)
		}
	}
	madeUp := reforge(t, s, alice.Token, func(c *Claims) { c.ID = strings.Repeat("0", 32) })
	otherAccount := reforge(t, s, alice.Token, func(c *Claims) { c.AccountID = bob.AccountID })
	for name, tok := range map[string]string{
		"a made-up session id, signed with the secret":       madeUp,
		"alice's session id in a token naming bob's account": otherAccount,
	} {
		if _, err := s.VerifyToken(t.Context(), tok); err != espresso.ErrUnauthorized {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
	}

	c, err := s.VerifyToken(t.Context(), alice.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SignOut(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyToken(t.Context(), alice.Token); err != espresso.ErrUnauthorized {
		t.Errorf("a signed-out token: %v, want ErrUnauthorized", err)
	}
	if err := s.SignOut(t.Context(), c); err != nil {
		t.Errorf("signing out twice: %v", err)
	}
	if _, err := s.VerifyToken(t.Context(), bob.Token); err != nil {
		t.Errorf("bob's token after alice signed out: %v", err)
	}
	second := signIn(t, s)
	n, err := s.EndAll(t.Context(), second.AccountID)
	if err != nil || n != 1 {
		t.Errorf("EndAll = %d, %v; want 1", n, err)
	}
	if _, err := s.VerifyToken(t.Context(), second.Token); err != espresso.ErrUnauthorized {
		t.Errorf("a token after sign out everywhere: %v, want ErrUnauthorized", err)
	}
}

func TestVerifyToken_MaxLifetimeHoldsWhateverExpSays(t *testing.T) {
	t.Parallel()
	s, c, _ := newTestService(t, Options{TokenTTL: 48 * time.Hour, MaxLifetime: 24 * time.Hour})
	sess := signIn(t, s)
	if got := sess.ExpiresAt.Sub(c.Now()); got > 24*time.Hour {
		t.Errorf("the token expires in %v, past the maximum lifetime", got)
	}
	// Someone with the secret stretches the token's exp by a year.
	stretched := reforge(t, s, sess.Token, func(cl *Claims) { cl.ExpiresAt = cl.ExpiresAt.Add(365 * 24 * time.Hour) })
	c.Advance(24*time.Hour - 2*time.Second)
	if _, err := s.VerifyToken(t.Context(), stretched); err != nil {
		t.Fatalf("the stretched token within the lifetime: %v", err)
	}
	c.Advance(3 * time.Second)
	if _, err := s.VerifyToken(t.Context(), stretched); err != espresso.ErrUnauthorized {
		t.Errorf("the stretched token past the maximum lifetime: %v, want ErrUnauthorized", err)
	}

	// A lifetime lowered after sign-in applies to sessions started before.
	s2, c2, st := newTestService(t, Options{TokenTTL: time.Hour})
	early := signIn(t, s2)
	lowered, err := New(st, []byte(secret), Options{Network: wallet.Mainnet, PublicURL: testIssuer, TokenTTL: time.Hour,
		MaxLifetime: 10 * time.Minute, Clock: c2})
	if err != nil {
		t.Fatal(err)
	}
	if err := lowered.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := lowered.VerifyToken(t.Context(), early.Token); err != nil {
		t.Fatalf("a token within the lowered lifetime: %v", err)
	}
	c2.Advance(11 * time.Minute)
	if _, err := lowered.VerifyToken(t.Context(), early.Token); err != espresso.ErrUnauthorized {
		t.Errorf("a token past the lowered lifetime: %v, want ErrUnauthorized", err)
	}
	if _, err := s2.VerifyToken(t.Context(), early.Token); err != nil {
		t.Errorf("the same token under the first server's lifetime: %v", err)
	}
}

func TestList_NewestFirstWithoutIDsMarkingTheCurrentOne(t *testing.T) {
	t.Parallel()
	s, c, st := newTestService(t, Options{})
	first := signIn(t, s)
	acct, err := st.AccountByID(t.Context(), first.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	// A second session of the same account, as another sign-in makes it.
	c.Advance(time.Minute)
	id, _ := newSessionID()
	in, err := st.SignInSession(t.Context(), acct.WalletAddress, strings.Repeat("ab", 20), c.Now().Add(time.Minute), nil,
		store.NewSession{Hash: hashID(id), ExpiresAt: c.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(in.Events)
	c.Advance(time.Minute)
	cl, err := s.VerifyToken(t.Context(), first.Token)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(t.Context(), first.AccountID, cl.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Current || !list[1].Current || !list[0].CreatedAt.After(list[1].CreatedAt) {
		t.Fatalf("List = %+v, want the newer (not current) session then the current one", list)
	}
	if !list[1].LastUsedAt.Equal(c.Now().Truncate(time.Microsecond)) || !list[0].LastUsedAt.IsZero() {
		t.Errorf("last uses %v and %v, want never and now (seen here, not yet written)", list[0].LastUsedAt, list[1].LastUsedAt)
	}
	if _, err := s.List(t.Context(), store.NewID(), ""); !errors.Is(err, espresso.ErrUserNotFound) {
		t.Errorf("List of an unknown account: %v", err)
	}
}

func TestCheckSecret_RefusesGuessableSecrets(t *testing.T) {
	t.Parallel()
	for _, weak := range []string{
		strings.Repeat("a", 40),
		strings.Repeat("ab", 20),
		strings.Repeat("s3cr3t!", 6),
		"passwordpasswordpasswordpassword",
		"my-super-secret-jwt-signing-key-for-production",
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"0123456789012345678901234567890123",
		"ChangeMe!ChangeMe!ChangeMe!ChangeMe!",
		"qwertyuiopasdfghjklzxcvbnm1234567890",
		"espresso-token-secret-2026-please-change",
	} {
		if err := CheckSecret([]byte(weak)); !errors.Is(err, ErrWeakSecret) {
			t.Errorf("CheckSecret(%q) = %v, want ErrWeakSecret", weak, err)
		}
	}
	if err := CheckSecret([]byte("Xk9#")); !errors.Is(err, ErrShortSecret) {
		t.Errorf("a short secret: %v, want ErrShortSecret", err)
	}
	for _, strong := range []string{
		"q0Jv3mKzR8pW1xT6nYb4sLh9cEa2uGdF7iOjZ5kMwN", // base64 of random bytes
		"9f2c6e0b71d84a3fa5e91c07d2b6483e",           // 16 random bytes in hex
		"Tz4/Kq+8vN2mW0pRj6LxH3sYc9Ua1bEo5dGf7iQkS0=",
	} {
		if err := CheckSecret([]byte(strong)); err != nil {
			t.Errorf("CheckSecret(%q) = %v, want nil", strong, err)
		}
	}
}

var errPageFailed = espresso.E(espresso.Unavailable, "test: the page failed")

// pagedStore counts the pages of live sessions read, and fails the page
// numbered failAt (from 1; 0: none).
type pagedStore struct {
	*store.Store
	pages  int
	failAt int
}

func (p *pagedStore) LiveSessions(ctx context.Context, after *store.SessionHash, limit int) ([]store.Session, error) {
	p.pages++
	if p.pages == p.failAt {
		return nil, errPageFailed
	}
	return p.Store.LiveSessions(ctx, after, limit)
}

func TestReload_ReadsInPagesAndKeepsTheSetWhenAPageFails(t *testing.T) {
	t.Parallel()
	s, c, st := newTestService(t, Options{})
	var signedIn []Session
	for range 5 {
		signedIn = append(signedIn, signIn(t, s))
	}
	paged := &pagedStore{Store: st}
	other, err := New(paged, []byte(secret), Options{Network: wallet.Mainnet, PublicURL: testIssuer, TokenTTL: time.Hour,
		Clock: c, LoadPage: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if paged.pages != 3 {
		t.Errorf("Reload read %d pages of two for five sessions, want 3", paged.pages)
	}
	for i, sess := range signedIn {
		if _, err := other.VerifyToken(t.Context(), sess.Token); err != nil {
			t.Errorf("session %d after a paged reload: %v", i, err)
		}
	}

	// A sixth session, then a reload whose second page fails: the set is
	// the one loaded before, whole, and the new session is not in it.
	late := signIn(t, s)
	paged.pages, paged.failAt = 0, 2
	if err := other.Reload(t.Context()); !errors.Is(err, errPageFailed) {
		t.Fatalf("Reload with a failing page: %v, want its error", err)
	}
	for i, sess := range signedIn {
		if _, err := other.VerifyToken(t.Context(), sess.Token); err != nil {
			t.Errorf("session %d after a failed reload: %v", i, err)
		}
	}
	if _, err := other.VerifyToken(t.Context(), late.Token); err != espresso.ErrUnauthorized {
		t.Errorf("a session the failed reload did not bring in: %v, want ErrUnauthorized", err)
	}
}
