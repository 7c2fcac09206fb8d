package sessions

import (
	"context"
	"crypto/rand"
)

// Settings is the part of storage that keeps server-wide settings; every
// storage backend provides it.
type Settings interface {
	Setting(ctx context.Context, name string, create func() ([]byte, error)) ([]byte, error)
}

// Secret returns the token signing secret: fromEnv when it is set (New
// checks its length), otherwise the one kept in the database, generated at
// the first start. Keeping it in the database means every server sharing
// the data accepts each other's tokens, and it is as private as the data
// directory (mode 0700) or the PostgreSQL database.
func Secret(ctx context.Context, st Settings, fromEnv string) ([]byte, error) {
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
