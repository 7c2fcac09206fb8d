package main

// The dashboard's sessions panel in Chromium: the list, "this device",
// sign-out and "sign out everywhere" end sessions on the server, so their
// tokens are refused over plain HTTP.

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/espresso-auth/espresso/wallet"
)

// mustRefuseToken fails the test unless the server refuses token with 4010.
func mustRefuseToken(t testing.TB, c apiCaller, token, what string) {
	t.Helper()
	status, out := c.do("GET", "/accounts/api-key", "", token, nil)
	c.want(what, status, out, 401, 4010)
}

// sessionsListed waits for the page's list of sessions to have n entries,
// exactly one of them "This device".
func sessionsListed(tb *tab, n int) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf("%d sessions listed", n), fmt.Sprintf(`!document.getElementById("sessions").hidden && document.querySelectorAll("#sessions-list > li").length === %d`, n))
	current, err := evalIn[[]string](tb, "the current session", `[...document.querySelectorAll("#sessions-list > li.current[aria-current=true]")].map((li) => li.textContent)`)
	if err != nil {
		tb.t.Fatal(err)
	}
	if len(current) != 1 || !strings.Contains(current[0], "This device") {
		tb.t.Errorf("the sessions marked as this device: %q, want one", current)
	}
	if times, _ := evalIn[int](tb, "the sessions' times", `document.querySelectorAll("#sessions-list time").length`); times < 2*n {
		tb.t.Errorf("%d sessions show %d times, want at least their start and expiry", n, times)
	}
}

// signOutEndsTheSession: the page's Sign out ends its session on the
// server, not only in the page. Called from the main scenario, signed in.
func signOutEndsTheSession(t *testing.T, tb *tab, base string) {
	t.Helper()
	sessionsListed(tb, 1)
	token := tb.token()
	tb.click("signout")
	tb.waitFor("the signed-out page", `document.getElementById("account").hidden && !document.getElementById("signin").hidden`)
	if got := tb.text("status"); got != "Signed out." {
		t.Errorf("after Sign out the page says %q", got)
	}
	mustRefuseToken(t, apiCaller{t: t, client: apiClient, base: base}, token, "the page's token after Sign out")
}

// signOutEverywhereInTheBrowser: the page lists the account's sessions,
// made in Go and by the page, marks its own, refreshes the list, backs out
// of "Sign out everywhere" when cancelled, and when confirmed ends them
// all: every token is then refused.
func signOutEverywhereInTheBrowser(t *testing.T, browserCtx context.Context, srv *process) {
	user := newTestWallet(t, "everywhere", "Everywhere Wallet", wallet.Mainnet)
	c := apiCaller{t: t, client: apiClient, base: srv.url}
	before := c.signIn(user.priv, nil)["token"].(string)
	tb := openTab(t, browserCtx, srv.url, user)
	signInInTab(tb, user)
	sessionsListed(tb, 2)
	pageToken := tb.token()

	after := c.signIn(user.priv, nil)["token"].(string)
	tb.click("sessions-refresh")
	sessionsListed(tb, 3)
	tb.screenshotFor("dashboard-sessions")
	status, listed := c.do("GET", "/accounts/sessions", "", after, nil)
	c.want("GET /accounts/sessions", status, listed, 200, 0)
	if list, _ := listed["sessions"].([]any); len(list) != 3 {
		t.Errorf("GET /accounts/sessions lists %v, want 3 sessions", listed)
	}

	tb.click("signout-everywhere")
	tb.waitFor("the confirmation", `document.getElementById("confirm").open`)
	tb.click("confirm-cancel")
	tb.waitFor("the confirmation to close", `!document.getElementById("confirm").open`)
	if status, out := c.do("GET", "/accounts/sessions", "", before, nil); status != 200 {
		t.Fatalf("after a cancelled sign-out everywhere, the first session: %d %v", status, out)
	}

	tb.click("signout-everywhere")
	tb.waitFor("the confirmation", `document.getElementById("confirm").open`)
	tb.click("confirm-ok")
	tb.waitFor("the signed-out page", `document.getElementById("account").hidden && !document.getElementById("signin").hidden`)
	if got := tb.text("status"); !strings.Contains(got, "3 sessions ended") {
		t.Errorf("after Sign out everywhere the page says %q", got)
	}
	for what, token := range map[string]string{"the session made before the page's": before,
		"the page's session": pageToken, "the session made after the page's": after} {
		mustRefuseToken(t, c, token, what+", after Sign out everywhere")
	}
	tb.nothingStored()
	tb.clean()
}
