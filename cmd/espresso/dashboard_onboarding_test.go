package main

// The dashboard's onboarding in Chromium: the operation key the page makes
// and seals must be what the platform's clients, and the opkey and wallet
// packages, open and accept.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/espresso-auth/espresso/opkey"
	"github.com/espresso-auth/espresso/wallet"
)

// signInInTab connects the wallet, signs in and waits until the page has
// loaded all it shows of the account.
func signInInTab(tb *tab, w *testWallet) {
	tb.t.Helper()
	tb.click(fmt.Sprintf(`[data-wallet=%q]`, w.id))
	tb.click("signin-button")
	tb.waitFor("the account", `!document.getElementById("account").hidden && document.getElementById("status").textContent.startsWith("Signed in.")`)
}

// onboardInTheBrowser: the page refuses a short password and two that
// differ, in words and without a request; then it makes, seals and stores
// an operation key that opkey.Open opens with the password, to a root key
// the wallet package accepts, whose hash is the one stored, and which is the
// key the page showed. Neither the password nor the key left the page.
func onboardInTheBrowser(t *testing.T, browserCtx context.Context, srv *process, issued *issuedKeys) {
	user := newTestWallet(t, "onboarder", "Onboarding Wallet", wallet.Mainnet)
	tb := openTab(t, browserCtx, srv.url, user)
	signInInTab(tb, user)
	tb.waitFor("the onboarding offer", `!document.getElementById("onboarding").hidden`)
	if got := tb.text("opkey-state"); got != "Not set up yet" {
		t.Errorf("before onboarding the page says %q of the operation key", got)
	}
	tb.waitFor("the sign-in's status to point to onboarding", `document.getElementById("status").textContent.includes("Set up your operation key")`)
	tb.screenshotFor("dashboard-onboarding")

	tb.typeInto("op-password", "too short")
	tb.typeInto("op-password-again", "too short")
	tb.click("onboard")
	if msg := tb.formError("op-password"); !strings.Contains(msg, "too short") {
		t.Errorf("a short password shows %q", msg)
	}

	const password = "correct horse battery staple, espresso"
	tb.typeInto("op-password", password)
	tb.typeInto("op-password-again", password+"!")
	tb.click("onboard")
	if msg := tb.formError("op-password-again"); !strings.Contains(msg, "not the same") {
		t.Errorf("two different passwords show %q", msg)
	}
	if sent := tb.requestsWith("/accounts/spot-account"); len(sent) > 0 {
		t.Fatalf("the page sent a refused form: %q", sent)
	}

	// Ask to see the key, and submit with Enter from the second field.
	tb.typeInto("op-password-again", password)
	tb.click("op-show-key")
	tb.do("focus the second field", chromedp.Focus(chromedp.CSS("#op-password-again")))
	tb.do("press Enter", chromedp.KeyEvent(kb.Enter))
	tb.waitFor("the operation key", `!document.getElementById("new-opkey").hidden && document.getElementById("new-opkey-value").textContent !== ""`)
	shown := tb.text("new-opkey-value")
	if !strings.HasPrefix(shown, "xprv1") || len(shown) != 165 {
		t.Fatalf("the page shows %q as the operation key", shown)
	}
	if warning := tb.text("new-opkey"); !strings.Contains(warning, "only time it is shown") {
		t.Errorf("the operation key comes without the warning: %q", warning)
	}
	tb.waitFor("the onboarded state", `document.getElementById("opkey-state").textContent.startsWith("Set up") && document.getElementById("onboarding").hidden`)
	if left, _ := evalIn[string](tb, "the password fields", `document.getElementById("op-password").value + document.getElementById("op-password-again").value`); left != "" {
		t.Error("the password is still in the form after onboarding")
	}
	tb.screenshotFor("dashboard-operation-key")
	tb.click("new-opkey-done")
	tb.waitFor("the key to be hidden", `document.getElementById("new-opkey").hidden`)
	js, _ := json.Marshal(shown)
	if still, _ := evalIn[bool](tb, "the page's HTML", fmt.Sprintf(`document.documentElement.outerHTML.includes(%s)`, js)); still {
		t.Error("the operation key is still in the page after Done")
	}

	// An API key, made in the page, is all a bot has besides the password.
	tb.click("generate")
	key := tb.oneTimeKey()
	issued.add(key)
	tb.dismissKey(key)
	tb.neverSent("the password or the operation key", password, shown)
	tb.nothingStored()

	c := apiCaller{t: t, client: apiClient, base: srv.url}
	status, got := c.do("GET", "/accounts/operation-key", key, "", nil)
	c.want("the bot's GET /accounts/operation-key", status, got, 200, 0)
	blobText, _ := got["encrypted_operation_key"].(string)
	hash, _ := got["operation_key_hash"].(string)
	checkSealedByThePage(t, blobText, password, shown)
	if len(tb.requestsWith(hash)) == 0 {
		t.Error("the onboarding request was not recorded: the check that nothing secret was sent cannot fail")
	}
	if hash != opkey.Hash([]byte(shown)) {
		t.Errorf("operation_key_hash %q is not opkey.Hash of the key", hash)
	}
	if !strings.Contains(tb.text("opkey-state"), hash[:16]) {
		t.Errorf("the page shows %q, not the stored key's fingerprint %s…", tb.text("opkey-state"), hash[:16])
	}
	if again := c.signIn(user.priv, nil); again["is_onboarding_ready"] != true {
		t.Errorf("after onboarding in the page, sign-in answers %v", again)
	}
	tb.clean()
}

// checkSealedByThePage opens a blob the page made, as a bot would, and
// checks it holds want, a root key the wallet package accepts, in the form
// opkey.Seal makes: a 12-byte IV and a 16-byte salt, written as
// opkey.Blob.String writes it.
func checkSealedByThePage(t *testing.T, blobText, password, want string) {
	t.Helper()
	b, err := opkey.ParseBlob(blobText)
	if err != nil {
		t.Fatalf("the page's blob %q: %v", blobText, err)
	}
	if len(b.IV) != opkey.IVSize || len(b.Salt) != opkey.SaltSize {
		t.Errorf("the page's blob has a %d-byte IV and a %d-byte salt, want %d and %d", len(b.IV), len(b.Salt), opkey.IVSize, opkey.SaltSize)
	}
	if b.String() != blobText {
		t.Errorf("the page's blob %q is not written as opkey writes it: %q", blobText, b.String())
	}
	plain, err := opkey.Open(blobText, password)
	if err != nil {
		t.Fatalf("opkey.Open of the page's blob with the password: %v", err)
	}
	if string(plain) != want {
		t.Error("the page's blob holds another key than the one it showed")
	}
	if _, err := wallet.ParseRootKey(string(plain)); err != nil {
		t.Errorf("the page's operation key is no root key: %v", err)
	}
	if _, err := opkey.Open(blobText, password+" "); !errors.Is(err, opkey.ErrWrongPassword) {
		t.Errorf("another password opens the page's blob: %v", err)
	}
}

// onboardedElsewhere: the account is onboarded (by a tool, in Go) while the
// page offers onboarding; the page's attempt gets 409, shown in words, and
// the page then shows the stored key.
func onboardedElsewhere(t *testing.T, browserCtx context.Context, srv *process) {
	user := newTestWallet(t, "latecomer", "Late Wallet", wallet.Mainnet)
	tb := openTab(t, browserCtx, srv.url, user)
	signInInTab(tb, user)
	tb.waitFor("the onboarding offer", `!document.getElementById("onboarding").hidden`)

	c := apiCaller{t: t, client: apiClient, base: srv.url}
	signed := c.signIn(user.priv, nil)
	root, err := wallet.GenerateRootKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte(root.Bech32())
	blob, err := opkey.Seal(plain, "the tool's password")
	if err != nil {
		t.Fatal(err)
	}
	status, out := c.do("POST", "/accounts/spot-account", "", signed["token"].(string), map[string]any{
		"encrypted_operation_key": blob, "operation_key_hash": opkey.Hash(plain), "is_script_operation_key": false})
	c.want("onboarding in Go", status, out, 200, 0)

	const password = "a password typed too late"
	tb.typeInto("op-password", password)
	tb.typeInto("op-password-again", password)
	tb.click("onboard")
	if msg := tb.errorShown(); !strings.Contains(msg, "already has an operation key") {
		t.Errorf("the 409 shows %q", msg)
	}
	tb.waitFor("the stored key's state", fmt.Sprintf(`document.getElementById("opkey-state").textContent.includes(%q)`, opkey.Hash(plain)[:16]))
	if !tb.hidden("onboarding") {
		t.Error("after the 409 the page still offers onboarding")
	}
	status, got := c.do("GET", "/accounts/operation-key", "", signed["token"].(string), nil)
	if status != 200 || got["encrypted_operation_key"] != blob {
		t.Errorf("after the page's attempt the stored key is %d %v, want the one onboarded in Go", status, got)
	}
	tb.clean()
}

// pageOperationKeyAgrees checks the page's opkey.js against the Go
// packages: rootKeyFromEntropy against wallet.NewRootKey for every entropy
// size (and refusing the others), hash against opkey.Hash, and seal against
// opkey.Open, with passwords beyond ASCII.
func pageOperationKeyAgrees(t *testing.T, tb *tab) {
	var entropies, want []string
	for _, n := range []int{16, 20, 24, 28, 32, 32} {
		e := make([]byte, n)
		if _, err := rand.Read(e); err != nil {
			t.Fatal(err)
		}
		k, err := wallet.NewRootKey(e)
		if err != nil {
			t.Fatal(err)
		}
		entropies = append(entropies, hex.EncodeToString(e))
		want = append(want, k.Bech32())
	}
	passwords := []string{"plain ascii password", "pässwörd ☕ 鍵 🔑", " spaces around "}
	in, _ := json.Marshal(map[string]any{"entropies": entropies, "passwords": passwords, "plain": want[0]})
	type result struct {
		Keys    []string `json:"keys"`
		Hashes  []string `json:"hashes"`
		Blobs   []string `json:"blobs"`
		Refused int      `json:"refused"`
	}
	out, err := evalIn[result](tb, "the page's opkey.js", fmt.Sprintf(`(async () => {
		const { rootKeyFromEntropy, hash, seal } = await import("/assets/opkey.js");
		const { hexToBytes } = await import("/assets/bech32.js");
		const input = %s;
		const keys = [];
		for (const e of input.entropies) keys.push(await rootKeyFromEntropy(hexToBytes(e)));
		const hashes = [];
		for (const k of keys) hashes.push(await hash(k));
		const blobs = [];
		for (const p of input.passwords) blobs.push(await seal(input.plain, p));
		let refused = 0;
		for (const n of [0, 12, 15, 18, 36]) {
			try { await rootKeyFromEntropy(new Uint8Array(n)); } catch { refused++; }
		}
		try { await seal(input.plain, ""); } catch { refused++; }
		return { keys, hashes, blobs, refused };
	})()`, in))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if out.Keys[i] != want[i] {
			t.Errorf("entropy %s: the page makes %s, wallet.NewRootKey %s", entropies[i], out.Keys[i], want[i])
		}
		if out.Hashes[i] != opkey.Hash([]byte(want[i])) {
			t.Errorf("the page's hash of %s… is %s, opkey.Hash's %s", want[i][:12], out.Hashes[i], opkey.Hash([]byte(want[i])))
		}
	}
	if out.Keys[4] == out.Keys[5] {
		t.Error("two fresh entropies gave one key")
	}
	for i, p := range passwords {
		checkSealedByThePage(t, out.Blobs[i], p, want[0])
	}
	if out.Refused != 6 {
		t.Errorf("the page accepted %d of 5 bad entropy sizes and an empty password", 6-out.Refused)
	}
}

// formError waits for the onboarding form's error and returns it: a
// sentence, with the focus on the field at fault.
func (tb *tab) formError(field string) string {
	tb.t.Helper()
	tb.waitFor("the form's error", `!document.getElementById("onboarding-error").hidden`)
	msg := tb.text("onboarding-error")
	if len(msg) < 20 || strings.ContainsAny(msg, "{}") {
		tb.t.Errorf("the form's error is not a sentence: %q", msg)
	}
	js, _ := json.Marshal(field)
	if ok, _ := evalIn[bool](tb, "the focus", fmt.Sprintf(`document.activeElement.id === %s && document.activeElement.getAttribute("aria-invalid") === "true"`, js)); !ok {
		tb.t.Errorf("after the form's error, the focus is not on %s marked invalid", field)
	}
	return msg
}
