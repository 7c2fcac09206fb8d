package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/espresso-auth/espresso/dashboard"
	"github.com/espresso-auth/espresso/wallet"
)

// TestDashboard_InChromium drives the dashboard in headless Chromium against
// the real binary: one browser, one tab per scenario, a CIP-30 test wallet
// injected into the page that signs through a binding back to this test,
// with the wallet package's SignData.
func TestDashboard_InChromium(t *testing.T) {
	chromium := chromiumPath(t)
	addr := freeAddr(t)
	srv := startProcess(t, addr, "--data", t.TempDir(), "--public-url", "http://"+addr)
	browserCtx := startBrowser(t, chromium)
	var issued issuedKeys
	t.Cleanup(func() {
		found, lines := srv.logs.found()
		reportKeys(t, issued.all(), found, fmt.Sprintf("the server's log (%d lines)", lines))
	})

	t.Run("a user signs in, generates, rotates and revokes a key, and signs out", func(t *testing.T) {
		t.Parallel()
		user := newTestWallet(t, "espressotest", "Espresso Test Wallet", wallet.Mainnet)
		tab := openTab(t, browserCtx, srv.url, user)
		tab.screenshotFor("dashboard-signed-out")

		// 1. Sign in, reaching the wallet's button with the keyboard alone.
		tab.tabTo(`[data-wallet="espressotest"]`)
		tab.do("press Enter on the wallet", chromedp.KeyEvent(kb.Enter))
		tab.waitFor("the sign-in step", `!document.getElementById("signin").hidden`)
		if got := tab.text("connected-address"); got != user.addr.String() {
			t.Fatalf("the page shows the wallet's address as %q, want %q", got, user.addr.String())
		}
		tab.click("signin-button")
		tab.waitFor("the account", `!document.getElementById("account").hidden`)
		if got := tab.text("account-wallet"); got != user.addr.String() {
			t.Errorf("account wallet %q, want %q", got, user.addr.String())
		}
		tab.waitFor("no key yet", `document.getElementById("key-masked").textContent === "No key yet"`)
		if n := user.signatures.Load(); n != 1 {
			t.Errorf("the wallet signed %d times, want 1", n)
		}

		// 2. Generate a key, read it from the page, use it over plain HTTP.
		tab.click("generate")
		key1 := tab.oneTimeKey()
		issued.add(key1)
		info := keyInfoOf(t, srv.url, key1)
		tab.waitFor("the key's details", fmt.Sprintf(
			`document.getElementById("key-masked").textContent === %q && document.querySelector("#key-created time").dateTime === %q`,
			info.MaskedKey, info.CreatedAt))
		tab.screenshotFor("dashboard-new-key")
		tab.copyKeyToClipboard(key1)
		tab.readableAtPhoneWidth()
		tab.dismissKey(key1)
		tab.screenshotFor("dashboard-account")

		// 3. Rotate, after a confirmation.
		tab.click("generate")
		tab.waitFor("the rotation's confirmation", `document.getElementById("confirm").open`)
		tab.click("confirm-ok")
		key2 := tab.oneTimeKey()
		issued.add(key2)
		if key2 == key1 {
			t.Fatal("the rotation showed the old key again")
		}
		mustAccept(t, srv.url, key2, "the rotated key")
		// 4. The old key is refused.
		mustRefuse(t, srv.url, key1, "the key before the rotation")
		tab.dismissKey(key2)

		// 5. Revoke: Escape backs out of the confirmation and changes nothing;
		// confirming revokes.
		tab.click("revoke")
		tab.waitFor("the revocation's confirmation", `document.getElementById("confirm").open`)
		tab.do("press Escape", chromedp.KeyEvent(kb.Escape))
		tab.waitFor("the confirmation to close", `!document.getElementById("confirm").open`)
		mustAccept(t, srv.url, key2, "the key after the revocation was cancelled")
		tab.click("revoke")
		tab.waitFor("the revocation's confirmation", `document.getElementById("confirm").open`)
		tab.click("confirm-ok")
		tab.waitFor("the revocation", `document.getElementById("status").textContent.includes("was revoked")`)
		tab.waitFor("no key", `document.getElementById("key-masked").textContent === "No key yet"`)
		mustRefuse(t, srv.url, key2, "the revoked key")

		// 6. Sign out: the server ends the session, and refuses its token.
		signOutEndsTheSession(t, tab, srv.url)
		tab.nothingStored()
		tab.clean()
	})

	t.Run("a user onboards an operation key made and sealed in the page", func(t *testing.T) {
		t.Parallel()
		onboardInTheBrowser(t, browserCtx, srv, &issued)
	})

	t.Run("an account onboarded elsewhere meanwhile gets the 409 in words", func(t *testing.T) {
		t.Parallel()
		onboardedElsewhere(t, browserCtx, srv)
	})

	t.Run("the page's operation key agrees with the wallet and opkey packages", func(t *testing.T) {
		t.Parallel()
		tab := openTab(t, browserCtx, srv.url)
		pageOperationKeyAgrees(t, tab)
		tab.clean()
	})

	t.Run("sign out everywhere ends every session, in the page and elsewhere", func(t *testing.T) {
		t.Parallel()
		signOutEverywhereInTheBrowser(t, browserCtx, srv)
	})

	t.Run("a wallet that refuses to sign, or is on the wrong network, gets a sentence", func(t *testing.T) {
		t.Parallel()
		refuser := newTestWallet(t, "refuser", "Refusing Wallet", wallet.Mainnet)
		refuser.refuses = true
		testnet := newTestWallet(t, "testnetwallet", "Testnet Wallet", wallet.Testnet)
		tab := openTab(t, browserCtx, srv.url, refuser, testnet)

		tab.click(`[data-wallet="refuser"]`)
		tab.click("signin-button")
		msg := tab.errorShown()
		if !strings.Contains(msg, "You declined to sign") {
			t.Errorf("a refused signature shows %q", msg)
		}
		if !tab.hidden("account") || tab.hidden("signin") {
			t.Error("a refused signature left the sign-in step")
		}

		tab.click("disconnect")
		tab.click(`[data-wallet="testnetwallet"]`)
		if got := tab.text("connected-address"); got != testnet.addr.String() {
			t.Fatalf("the page shows the testnet wallet's address as %q, want %q", got, testnet.addr.String())
		}
		tab.click("signin-button")
		msg = tab.errorShown()
		if !strings.Contains(msg, "cannot sign in here") {
			t.Errorf("the server's 4000 for a testnet address shows %q", msg)
		}
		if n := testnet.signatures.Load(); n != 0 {
			t.Errorf("the testnet wallet was asked to sign %d times", n)
		}
		tab.clean()
	})

	t.Run("without a wallet the page says so", func(t *testing.T) {
		t.Parallel()
		tab := openTab(t, browserCtx, srv.url)
		tab.waitFor("the no-wallet notice", `!document.getElementById("no-wallet").hidden`)
		if got := tab.text("no-wallet"); !strings.Contains(got, "No Cardano wallet was found in this browser") {
			t.Errorf("the no-wallet notice says %q", got)
		}
		tab.clean()
	})

	t.Run("the page's bech32 agrees with the wallet package", func(t *testing.T) {
		t.Parallel()
		tab := openTab(t, browserCtx, srv.url)
		bech32AgreesWithTheWalletPackage(t, tab)
		tab.clean()
	})

	t.Run("the CSP blocks inline script and style attributes", func(t *testing.T) {
		t.Parallel()
		tab := openTab(t, browserCtx, srv.url)
		tab.do("inject inline script and style", chromedp.Evaluate[chromedp.Void](`{
			const s = document.createElement("script");
			s.textContent = "window.inlineRan = true";
			document.head.append(s);
			document.body.setAttribute("style", "background: rgb(255, 0, 0)");
		}`))
		tab.waitFor("two reported violations", `window.cspViolations.length >= 2`)
		ran, _ := evalIn[bool](tab, "inline script", `window.inlineRan === true`)
		if ran {
			t.Error("an inline script ran")
		}
		bg, _ := evalIn[string](tab, "background", `getComputedStyle(document.body).backgroundColor`)
		if bg == "rgb(255, 0, 0)" {
			t.Error("a style attribute applied")
		}
		// The check every other tab ends with sees these violations: it can fail.
		if v := tab.violations(); len(v) < 2 {
			t.Errorf("violations seen: %q, want the inline script and the style attribute", v)
		}
	})
}

// TestDashboard_ServedByTheBinaryWithItsHeaders needs no browser: the real
// binary serves the page and its assets with the security headers, and an
// unknown asset gets the platform's JSON 404.
func TestDashboard_ServedByTheBinaryWithItsHeaders(t *testing.T) {
	addr := freeAddr(t)
	srv := startProcess(t, addr, "--data", t.TempDir())
	for _, p := range []string{"/", "/assets/app.js", "/assets/style.css"} {
		resp, err := apiClient.Get(srv.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		for name, want := range map[string]string{
			"Content-Security-Policy": dashboard.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("GET %s: %s %q, want %q", p, name, got, want)
			}
		}
	}
	for _, directive := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(dashboard.ContentSecurityPolicy, directive) {
			t.Errorf("the CSP lacks %s", directive)
		}
	}
	status, body := call(t, "GET", srv.url+"/assets/nope.js", "")
	if status != 404 || string(body) != `{"code":4040,"error":"Not found","msg":"Not found"}` {
		t.Errorf("GET /assets/nope.js: %d %s, want the JSON 404", status, body)
	}
}

// ---- bech32

// bech32AgreesWithTheWalletPackage checks the page's encoder against the
// wallet package both ways: the CIP-19 vectors and fresh enterprise
// addresses, encoded by Go, must come out the same from their bytes; random
// base addresses encoded by the page must parse in Go to the same bytes.
func bech32AgreesWithTheWalletPackage(t *testing.T, tb *tab) {
	texts := []string{
		"addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2wywfgse35a3x",
		"addr1gx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer5pnz75xxcrzqf96k",
		"addr1w8phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcyjy7wx",
		"stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
		"addr_test1xrphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gt7r0vd4msrxnuwnccdxlhdjar77j6lg0wypcc9uar5d2shs4p04xh",
		"addr_test12rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtupnz75xxcryqrvmw",
		"stake_test17rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcljw6kf",
	}
	for range 8 {
		texts = append(texts, newWallet(t, wallet.Mainnet), newWallet(t, wallet.Testnet))
	}
	var fromGo []string
	for _, s := range texts {
		a, err := wallet.ParseAddress(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		fromGo = append(fromGo, hex.EncodeToString(a.Bytes()))
	}
	var random []string
	for i := range 16 {
		raw := make([]byte, 57)
		if _, err := io.ReadFull(rand.Reader, raw); err != nil {
			t.Fatal(err)
		}
		raw[0] = byte(i%4)<<4 | byte(i/4%2) // base addresses of types 0–3, both networks
		random = append(random, hex.EncodeToString(raw))
	}
	in, _ := json.Marshal(map[string]any{"fromGo": fromGo, "random": random})
	type encoded struct {
		FromGo  []string `json:"fromGo"`
		Random  []string `json:"random"`
		Refused int      `json:"refused"`
	}
	out, err := evalIn[encoded](tb, "the page's encoder", fmt.Sprintf(`(async () => {
		const { addressFromHex } = await import("/assets/bech32.js");
		const input = %s;
		let refused = 0;
		for (const bad of ["82" + "00".repeat(56), "02" + "00".repeat(56), "61" + "00".repeat(10), "zz"]) {
			try { addressFromHex(bad); } catch { refused++; }
		}
		return { fromGo: input.fromGo.map(addressFromHex), random: input.random.map(addressFromHex), refused };
	})()`, in))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range texts {
		if out.FromGo[i] != s {
			t.Errorf("%s: the page encodes its bytes as %s", s, out.FromGo[i])
		}
	}
	for i, s := range out.Random {
		a, err := wallet.ParseAddress(s)
		if err != nil {
			t.Errorf("%s (bytes %s): the wallet package refuses the page's encoding: %v", s, random[i], err)
			continue
		}
		if hex.EncodeToString(a.Bytes()) != random[i] || a.String() != s {
			t.Errorf("%s: the wallet package reads other bytes than %s", s, random[i])
		}
	}
	if out.Refused != 4 {
		t.Errorf("the page encoded %d of 4 bytes that are no Shelley address", 4-out.Refused)
	}
}
