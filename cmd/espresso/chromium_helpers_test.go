package main

// Helpers for the dashboard's browser test: headless Chromium, a tab per
// scenario, the CIP-30 test wallet injected into the page, screenshots.

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/espresso-auth/espresso/wallet"
)

// ---- the browser

// chromiumPath returns Debian's Chromium, or skips the test without it.
// .ci/run installs it and fails on any skipped test, so CI always runs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed: apt-get install chromium (CI installs it, so there this test never skips)")
	}
	return p
}

// startBrowser starts one headless Chromium for the test, with a fresh
// profile, and none of the background connections this machine's closed
// network refuses.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1000, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// ---- the test wallet

// testWallet is a CIP-30 wallet the test injects into a page. Its signData
// calls the binding espressoTestSign, which signs with wallet.SignData, as
// `espresso wallet sign` does.
type testWallet struct {
	id, name   string
	priv       ed25519.PrivateKey
	addr       wallet.Address
	refuses    bool // signData throws a CIP-30 DataSignError UserDeclined
	signatures atomic.Int32
}

func newTestWallet(t testing.TB, id, name string, n wallet.Network) *testWallet {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &testWallet{id: id, name: name, priv: priv, addr: wallet.NewEnterpriseAddress(pub, n)}
}

// walletsJS defines window.cardano with the given wallets (a JSON list)
// before any script of the page runs, and records every CSP violation.
const walletsJS = `(() => {
  window.cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    window.cspViolations.push(e.effectiveDirective + " " + (e.blockedURI || "inline"));
  });
  const icon = "data:image/svg+xml," + encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><circle cx="12" cy="12" r="11" fill="#6b4f2a"/></svg>');
  const wallets = %s;
  if (wallets.length === 0) return;
  window.cardano = window.cardano || {};
  for (const w of wallets) {
    const api = {
      getNetworkId: async () => w.networkId,
      getUsedAddresses: async () => [w.addressHex],
      getUnusedAddresses: async () => [],
      getChangeAddress: async () => w.addressHex,
      getRewardAddresses: async () => [],
      signData: async (address, payload) => {
        if (w.refuses) throw { code: 3, info: "user declined to sign" };
        try {
          return await window.espressoTestSign({ wallet: w.id, address, payload });
        } catch (err) {
          throw { code: 1, info: String(err) };
        }
      },
    };
    window.cardano[w.id] = { name: w.name, icon, apiVersion: "0.1.0", isEnabled: async () => true, enable: async () => api };
  }
})();`

type signRequest struct {
	Wallet  string `json:"wallet"`
	Address string `json:"address"`
	Payload string `json:"payload"`
}

type signResult struct {
	Signature string `json:"signature"`
	Key       string `json:"key"`
}

// signer answers the page's espressoTestSign calls as a wallet would: it
// signs only for its own address, exactly the bytes it was given.
func signer(wallets []*testWallet) func(context.Context, signRequest) (signResult, error) {
	return func(_ context.Context, req signRequest) (signResult, error) {
		for _, w := range wallets {
			if w.id != req.Wallet {
				continue
			}
			if req.Address != hex.EncodeToString(w.addr.Bytes()) {
				return signResult{}, errors.New("not this wallet's address")
			}
			msg, err := hex.DecodeString(req.Payload)
			if err != nil {
				return signResult{}, errors.New("the payload is not hex")
			}
			sig, key, err := wallet.SignData(w.priv, w.addr, msg)
			if err != nil {
				return signResult{}, err
			}
			w.signatures.Add(1)
			return signResult{sig, key}, nil
		}
		return signResult{}, errors.New("no such wallet")
	}
}

// ---- a tab

// tab is one scenario's browser tab, with the page loaded.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	sent    []sentRequest // every request the page made
}

// sentRequest is a request the page made, as Chromium reports it.
type sentRequest struct {
	method, url string
	headers     network.Headers
	body        string
}

func (r sentRequest) String() string {
	return fmt.Sprintf("%s %s %v %s", r.method, r.url, r.headers, r.body)
}

// stepTimeout bounds each step; generous, for a loaded machine under -race.
const stepTimeout = 30 * time.Second

// openTab opens a tab with the wallets injected and loads the page at
// base. At the end of the test it saves a screenshot if the test failed.
func openTab(t *testing.T, browserCtx context.Context, base string, wallets ...*testWallet) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	tb := &tab{t: t, ctx: ctx}
	consoleDone := make(chan struct{})
	t.Cleanup(func() {
		if t.Failed() {
			tb.keepScreenshot()
		}
		cancel()
		<-consoleDone
	})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(consoleDone)
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()

	// Record every request the tab makes, to show what never leaves it.
	if err := chromedp.Listen(ctx, func(ev any) {
		e, ok := ev.(*network.EventRequestWillBeSent)
		if !ok || e.Request == nil {
			return
		}
		r := sentRequest{method: e.Request.Method, url: e.Request.URL, headers: e.Request.Headers}
		for _, d := range e.Request.PostDataEntries {
			r.body += string(d.Bytes)
		}
		tb.mu.Lock()
		tb.sent = append(tb.sent, r)
		tb.mu.Unlock()
	}); err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}

	specs := make([]map[string]any, 0, len(wallets))
	for _, w := range wallets {
		specs = append(specs, map[string]any{"id": w.id, "name": w.name, "networkId": int(w.addr.Network()),
			"addressHex": hex.EncodeToString(w.addr.Bytes()), "refuses": w.refuses})
	}
	list, _ := json.Marshal(specs)
	tb.do("set up the tab",
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
				page.AddScriptToEvaluateOnNewDocumentParams{Source: fmt.Sprintf(walletsJS, list)})
			return err
		}),
		// Every tab acts as the focused one, so keyboard focus and the
		// clipboard work in tabs that run side by side.
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
		chromedp.ExposeFunc("espressoTestSign", signer(wallets)),
		chromedp.Navigate(base+"/"),
	)
	tb.waitFor("the page's script to run", `document.getElementById("wallets-looking").hidden`)
	return tb
}

// do runs actions, failing the test with what on an error or a timeout.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v%s", what, err, tb.pageState())
	}
}

// evalIn evaluates a JavaScript expression (awaiting a promise) in the tab.
func evalIn[T any](tb *tab, what, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		err = fmt.Errorf("%s: %w", what, err)
	}
	return v, err
}

// waitFor polls cond, a JavaScript expression, until it is true. (The
// polling is ours, not chromedp.Poll: that builds its predicate with new
// Function, which the page's CSP refuses.)
func (tb *tab) waitFor(what, cond string) {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		ok, err := evalIn[bool](tb, what, "Boolean("+cond+")")
		if err != nil {
			tb.t.Fatalf("waiting for %s: %v%s", what, err, tb.pageState())
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s did not happen within %s%s", what, stepTimeout, tb.pageState())
		}
		time.Sleep(20 * time.Millisecond) // the polling interval
	}
}

// sel turns an element id into a CSS selector; a selector stays as it is.
func sel(idOrSelector string) string {
	if strings.ContainsAny(idOrSelector, "[#. ") {
		return idOrSelector
	}
	return "#" + idOrSelector
}

// click clicks an element once it is shown and enabled.
func (tb *tab) click(idOrSelector string) {
	tb.t.Helper()
	s := sel(idOrSelector)
	js, _ := json.Marshal(s)
	tb.waitFor(s+" to be clickable", fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e && !e.disabled && e.checkVisibility() })()`, js))
	tb.do("click "+s, chromedp.Click(chromedp.CSS(s)))
}

// tabTo presses Tab until the element has the focus: it is reachable with
// the keyboard.
func (tb *tab) tabTo(selector string) {
	tb.t.Helper()
	js, _ := json.Marshal(selector)
	tb.waitFor(selector, fmt.Sprintf(`document.querySelector(%s) !== null`, js))
	for range 12 {
		tb.do("press Tab", chromedp.KeyEvent(kb.Tab))
		if focused, _ := evalIn[bool](tb, "focus", fmt.Sprintf(`document.activeElement === document.querySelector(%s)`, js)); focused {
			return
		}
	}
	tb.t.Fatalf("%s cannot be reached with Tab%s", selector, tb.pageState())
}

// typeInto empties a field and types text into it, key by key.
func (tb *tab) typeInto(id, text string) {
	tb.t.Helper()
	js, _ := json.Marshal(id)
	tb.waitFor(id+" to be shown", fmt.Sprintf(`document.getElementById(%s).checkVisibility()`, js))
	tb.do("empty "+id, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.getElementById(%s).value = ""`, js)))
	tb.do("type into "+id, chromedp.SendKeys(chromedp.CSS("#"+id), text))
}

// requestsWith returns the requests the page made whose method, URL,
// headers or body contain s.
func (tb *tab) requestsWith(s string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var found []string
	for _, r := range tb.sent {
		if strings.Contains(r.String(), s) {
			found = append(found, r.String())
		}
	}
	return found
}

// token returns the sign-in token the page sent last: the page keeps it
// where no script can read it, but it goes out with every account request.
func (tb *tab) token() string {
	tb.t.Helper()
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for i := len(tb.sent) - 1; i >= 0; i-- {
		if v, ok := tb.sent[i].headers["Authorization"].(string); ok && v != "" {
			return v
		}
	}
	tb.t.Fatal("the page sent no token")
	return ""
}

// neverSent fails the test if any request the page made carried one of
// the secrets.
func (tb *tab) neverSent(what string, secrets ...string) {
	tb.t.Helper()
	tb.mu.Lock()
	n := len(tb.sent)
	tb.mu.Unlock()
	if n == 0 {
		tb.t.Fatal("no request of the page was recorded: the check below could not fail")
	}
	for _, s := range secrets {
		if found := tb.requestsWith(s); len(found) > 0 {
			tb.t.Errorf("the page sent %s: %d requests carried it", what, len(found))
		}
	}
}

func (tb *tab) text(id string) string {
	tb.t.Helper()
	js, _ := json.Marshal(id)
	v, err := evalIn[string](tb, id, fmt.Sprintf(`document.getElementById(%s).textContent`, js))
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

func (tb *tab) hidden(id string) bool {
	tb.t.Helper()
	js, _ := json.Marshal(id)
	v, err := evalIn[bool](tb, id, fmt.Sprintf(`document.getElementById(%s).hidden`, js))
	if err != nil {
		tb.t.Fatal(err)
	}
	return v
}

// errorShown waits for the page's error message and returns it; it must be
// a sentence, not an answer as it came from the server.
func (tb *tab) errorShown() string {
	tb.t.Helper()
	tb.waitFor("an error message", `!document.getElementById("error").hidden`)
	msg := tb.text("error")
	if strings.ContainsAny(msg, "{}") || strings.Contains(msg, `"code"`) || len(msg) < 20 {
		tb.t.Errorf("the error shown is not a sentence: %q", msg)
	}
	return msg
}

// oneTimeKey waits for the one-time key panel and reads the key from it.
func (tb *tab) oneTimeKey() string {
	tb.t.Helper()
	tb.waitFor("the new key", `!document.getElementById("new-key").hidden && document.getElementById("new-key-value").textContent !== ""`)
	key := tb.text("new-key-value")
	if !strings.HasPrefix(key, "dk_live_") || len(key) != 44 {
		tb.t.Fatalf("the page shows %q as the new key", key)
	}
	if warning := tb.text("new-key"); !strings.Contains(warning, "only time it is shown") {
		tb.t.Errorf("the new key comes without the warning: %q", warning)
	}
	return key
}

// copyKeyToClipboard clicks Copy and reads the clipboard back.
func (tb *tab) copyKeyToClipboard(key string) {
	tb.t.Helper()
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.CallBrowser(tb.ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted})
		if err != nil {
			tb.t.Fatalf("granting %s: %v", name, err)
		}
	}
	tb.click("copy")
	tb.waitFor("the copy's confirmation", `document.getElementById("copy-status").textContent !== ""`)
	if got := tb.text("copy-status"); got != "Copied to the clipboard." {
		tb.t.Fatalf("after Copy: %q", got)
	}
	if got, err := evalIn[string](tb, "the clipboard", `navigator.clipboard.readText()`); err != nil || got != key {
		tb.t.Errorf("the clipboard holds %q (%v), want the key", got, err)
	}
}

// dismissKey closes the one-time key panel; the key is then nowhere in the
// page.
func (tb *tab) dismissKey(key string) {
	tb.t.Helper()
	tb.click("new-key-done")
	tb.waitFor("the key to be hidden", `document.getElementById("new-key").hidden`)
	js, _ := json.Marshal(key)
	if still, _ := evalIn[bool](tb, "the page's HTML", fmt.Sprintf(`document.documentElement.outerHTML.includes(%s)`, js)); still {
		tb.t.Error("the key is still in the page after Done")
	}
	tb.nothingStored()
}

// nothingStored checks the page stored nothing: no token, no key, anywhere.
func (tb *tab) nothingStored() {
	tb.t.Helper()
	used, err := evalIn[[]string](tb, "storage", `(async () => {
		const used = [];
		if (localStorage.length) used.push("localStorage");
		if (sessionStorage.length) used.push("sessionStorage");
		if (document.cookie) used.push("cookies");
		if ((await indexedDB.databases()).length) used.push("IndexedDB");
		if ((await caches.keys()).length) used.push("Cache Storage");
		return used;
	})()`)
	if err != nil {
		tb.t.Fatal(err)
	}
	if len(used) > 0 {
		tb.t.Errorf("the page stored something in %v", used)
	}
}

// readableAtPhoneWidth checks the signed-in page fits a phone's width
// without sideways scrolling, with its key panel open.
func (tb *tab) readableAtPhoneWidth() {
	tb.t.Helper()
	desktop, err := evalIn[int](tb, "the window's width", `window.innerWidth`)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.do("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	defer func() {
		tb.do("back to the desktop", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.ClearDeviceMetricsOverride, cdp.Empty{})
			return err
		}))
		// The page lays itself out again asynchronously; a click aimed
		// before that lands where a button used to be.
		tb.waitFor("the desktop layout", fmt.Sprintf(`window.innerWidth === %d`, desktop))
		if _, err := evalIn[bool](tb, "two frames", `new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))`); err != nil {
			tb.t.Fatal(err)
		}
	}()
	tb.waitFor("the phone layout", `window.innerWidth === 390`)
	if wide, _ := evalIn[int](tb, "page width", `document.documentElement.scrollWidth`); wide > 390 {
		tb.t.Errorf("at 390 px the page is %d px wide: it scrolls sideways", wide)
	}
	tb.screenshotFor("dashboard-phone")
}

// violations returns the CSP violations the page reported, and those the
// console showed.
func (tb *tab) violations() []string {
	tb.t.Helper()
	v, err := evalIn[[]string](tb, "CSP violations", `window.cspViolations`)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		if strings.Contains(m.Text, "Content Security Policy") {
			v = append(v, "console: "+m.Text)
		}
	}
	return v
}

// clean fails the test on any CSP violation, uncaught exception or error
// the page logged. (Chrome logs every 4xx answer as a network error; those
// are the API's answers, not the page's faults.)
func (tb *tab) clean() {
	tb.t.Helper()
	for _, v := range tb.violations() {
		tb.t.Errorf("CSP violation: %s", v)
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		if m.IsException() || (m.Type == chromedp.ConsoleError && m.Source != "network") {
			tb.t.Errorf("the page logged %s", m)
		}
	}
}

// pageState describes the page for a failure message.
func (tb *tab) pageState() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
		status: document.getElementById("status")?.textContent,
		error: document.getElementById("error")?.textContent,
		visible: [...document.querySelectorAll("main > section")].filter((s) => !s.hidden).map((s) => s.id),
	})`))
	if err != nil {
		return ""
	}
	return "\npage: " + s
}

// ---- screenshots

// keepScreenshot saves what the tab shows, for a failed test: in the test's
// artifact directory with go test -artifacts, else in a directory under
// the system's temporary directory, named in the test's log.
func (tb *tab) keepScreenshot() {
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Logf("no screenshot of the failure: %v", err)
		return
	}
	var dir string
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		dir = tb.t.ArtifactDir()
	} else if dir, err = os.MkdirTemp("", "espresso-dashboard-failure-"); err != nil {
		tb.t.Logf("no screenshot of the failure: %v", err)
		return
	}
	file := filepath.Join(dir, "screenshot.png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		tb.t.Logf("no screenshot of the failure: %v", err)
		return
	}
	tb.t.Logf("screenshot of the failure: %s", file)
}

// screenshotFor saves a screenshot for the README when ESPRESSO_SCREENSHOTS
// names a directory (relative to the repository's root):
//
//	ESPRESSO_SCREENSHOTS=docs/img go test -run TestDashboard ./cmd/espresso/
func (tb *tab) screenshotFor(name string) {
	tb.t.Helper()
	dir := os.Getenv("ESPRESSO_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// ---- keys

// issuedKeys collects the keys the browser showed, to look for them in the
// server's log.
type issuedKeys struct {
	mu   sync.Mutex
	keys []string
}

func (k *issuedKeys) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, key)
}

func (k *issuedKeys) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...)
}

type keyInfoJSON struct {
	MaskedKey string `json:"masked_key"`
	CreatedAt string `json:"created_at"`
}

// keyInfoOf asks GET /accounts/api-key about key over plain HTTP: it must
// answer 200.
func keyInfoOf(t testing.TB, base, key string) keyInfoJSON {
	t.Helper()
	status, body := call(t, "GET", base+"/accounts/api-key", key)
	if status != 200 {
		t.Fatalf("GET /accounts/api-key with the key from the page: %d %s", status, body)
	}
	var info keyInfoJSON
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	return info
}
