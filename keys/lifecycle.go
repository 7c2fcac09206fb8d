package keys

import (
	"context"
	"errors"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/apikey"
	"github.com/espresso-auth/espresso/store"
)

// CreateAccount creates the account of a wallet together with its first
// key, in one commit, and returns that key. espresso.ErrAccountExists if
// the wallet has an account.
func (s *Service) CreateAccount(ctx context.Context, wallet string) (Issued, error) {
	key, first, err := generate(s.opts.Env)
	if err != nil {
		return Issued{}, err
	}
	acct, events, err := s.st.CreateAccount(ctx, wallet, &first)
	if err != nil {
		return Issued{}, err
	}
	s.rep.applyLocal(events)
	issued := Issued{Info: Info{AccountID: acct.ID, Hash: first.Hash, Masked: first.Masked, CreatedAt: acct.CreatedAt}, Key: key}
	for _, ev := range events {
		if ev.Kind == store.KeyIssued {
			issued.Info = infoOf(ev.Key)
		}
	}
	return issued, nil
}

// Rotate issues a new key for the account and revokes its live key, in one
// commit. With current set, the rotation happens only if current is still
// the live key (of concurrent rotations presenting it, one wins; the others
// get espresso.ErrUnauthorized). With current nil any live key is replaced.
// On return this node already refuses the old key and accepts the new one;
// other nodes follow through the key feed. espresso.ErrUserNotFound if the
// account does not exist.
func (s *Service) Rotate(ctx context.Context, accountID string, current *apikey.Hash) (Issued, error) {
	key, next, err := generate(s.opts.Env)
	if err != nil {
		return Issued{}, err
	}
	stored, events, err := s.st.RotateKey(ctx, accountID, current, next)
	if err != nil {
		return Issued{}, unauthorized(err)
	}
	s.rep.applyLocal(events)
	return Issued{Info: infoOf(stored), Key: key}, nil
}

// Revoke revokes the account's live key (which must be current, if set)
// and returns it, RevokedAt set. On return this node already refuses it.
// Errors: espresso.ErrUnauthorized if current is no longer live,
// espresso.ErrNoKey if the account has no live key,
// espresso.ErrUserNotFound if it does not exist.
func (s *Service) Revoke(ctx context.Context, accountID string, current *apikey.Hash) (Info, error) {
	revoked, events, err := s.st.RevokeKey(ctx, accountID, current)
	if err != nil {
		return Info{}, unauthorized(err)
	}
	s.rep.applyLocal(events)
	return infoOf(revoked), nil
}

// LiveKey describes the account's live key, for callers that did not
// present it (a signed-in dashboard). espresso.ErrNoKey if there is none,
// espresso.ErrUserNotFound if the account does not exist.
func (s *Service) LiveKey(ctx context.Context, accountID string) (Info, error) {
	k, err := s.st.LiveKey(ctx, accountID)
	if err != nil {
		return Info{}, err
	}
	info := infoOf(k)
	// This node may have seen uses it has not flushed yet.
	if used := s.rep.lastUsed(k.Hash); used.After(k.LastUsedAt) {
		info.LastUsedAt = used
	}
	return info, nil
}

func generate(env apikey.Env) (apikey.Key, store.NewKey, error) {
	key, err := apikey.New(env)
	if err != nil {
		return apikey.Key{}, store.NewKey{}, espresso.Wrap(espresso.Internal, err, "keys: generating a key")
	}
	return key, store.NewKey{Hash: key.Hash(), Masked: key.Mask()}, nil
}

// unauthorized turns the store's "not the live key" into
// espresso.ErrUnauthorized, so that a lost race reads like any other stale
// key.
func unauthorized(err error) error {
	if errors.Is(err, store.ErrKeyNotLive) {
		return espresso.ErrUnauthorized
	}
	return err
}
