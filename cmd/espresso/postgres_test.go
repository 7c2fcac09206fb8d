package main

import (
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/store/postgres/pgtest"
	"github.com/espresso-auth/espresso/wallet"
)

// TestServe_OnPostgreSQL runs the README walk-through with --database-url,
// and the CLI against the same database through ESPRESSO_DATABASE_URL.
func TestServe_OnPostgreSQL(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	n := serveNode(t, nil, "--database-url", url)
	env := map[string]string{"ESPRESSO_DATABASE_URL": url}
	addr := newWallet(t, wallet.Mainnet)
	acct := mustIssue(t, env, "account", "create", "--wallet", addr)
	next := rotate(t, n.url, acct.APIKey)
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", acct.APIKey); status != 401 {
		t.Errorf("old key after rotation on PostgreSQL: %d", status)
	}
	if status, _ := call(t, "GET", n.url+"/accounts/api-key", next); status != 200 {
		t.Errorf("new key on PostgreSQL: %d", status)
	}
	out, _, err := cli(t, env, "migrate")
	if err != nil || !strings.Contains(out, `"applied":[]`) {
		t.Errorf("migrate on a migrated database: %q %v", out, err)
	}
	noKeysLogged(t, []string{acct.APIKey, next}, n)
}

func TestDescribe_HidesCredentials(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"postgres://app:s3cret@db:5432/espresso?sslmode=disable",
		"postgres://db/espresso?password=s3cret",
		"host=db user=app password=s3cret dbname=espresso",
	} {
		if got := describe(&config{DatabaseURL: u}); strings.Contains(got, "s3cret") {
			t.Errorf("describe(%q) = %q", u, got)
		}
	}
}
