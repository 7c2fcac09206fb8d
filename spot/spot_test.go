package spot_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso"
	"github.com/espresso-auth/espresso/opkey"
	"github.com/espresso-auth/espresso/spot"
	"github.com/espresso-auth/espresso/store"
	"github.com/espresso-auth/espresso/store/sqlite"
)

// newService returns a Service over a fresh SQLite store, and the store.
func newService(t testing.TB) (*spot.Service, *store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return spot.New(st), st
}

func sealed(t testing.TB) store.OperationKey {
	t.Helper()
	key := []byte("xprv1" + strings.Repeat("q", 160))
	blob, err := opkey.Seal(key, "password")
	if err != nil {
		t.Fatal(err)
	}
	return store.OperationKey{Encrypted: blob, Hash: opkey.Hash(key)}
}

func TestService_RefusesAMalformedKeyAsInvalidAndStoresNothing(t *testing.T) {
	s, st := newService(t)
	a, _, err := st.CreateAccount(t.Context(), "addr_test1qspot", nil)
	if err != nil {
		t.Fatal(err)
	}
	good := sealed(t)
	for name, k := range map[string]store.OperationKey{
		"a blob that is not one": {Encrypted: `{"iv":"x"}`, Hash: good.Hash},
		"a hash that is not hex": {Encrypted: good.Encrypted, Hash: "xyz"},
	} {
		if err := spot.CheckOperationKey(k); espresso.KindOf(err) != espresso.Invalid {
			t.Errorf("%s: CheckOperationKey = %v, want Invalid", name, err)
		}
		if _, err := s.Create(t.Context(), a.ID, k); espresso.KindOf(err) != espresso.Invalid {
			t.Errorf("%s: Create = %v, want Invalid", name, err)
		}
	}
	if _, err := s.Get(t.Context(), a.ID); !errors.Is(err, espresso.ErrNoSpotAccount) {
		t.Errorf("Get after the refusals: %v, want ErrNoSpotAccount", err)
	}
	if _, err := s.OperationKey(t.Context(), a.ID); !errors.Is(err, espresso.ErrNoOperationKey) {
		t.Errorf("OperationKey after the refusals: %v, want ErrNoOperationKey", err)
	}

	if _, err := s.Create(t.Context(), a.ID, good); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reencrypt(t.Context(), a.ID, `{"iv":"x"}`); !errors.Is(err, spot.ErrInvalidBlob) {
		t.Errorf("Reencrypt with a bad blob: %v, want ErrInvalidBlob", err)
	}
	if k, err := s.OperationKey(t.Context(), a.ID); err != nil || k != good {
		t.Errorf("OperationKey = %+v, %v; want the key as created", k, err)
	}
	if _, err := s.OperationKey(t.Context(), store.NewID()); !errors.Is(err, espresso.ErrUserNotFound) {
		t.Errorf("OperationKey of an unknown account: %v, want ErrUserNotFound", err)
	}
}
