// The dashboard: connect a wallet, sign in, see the account's key, generate,
// rotate or revoke it; the operation key (onboarding.js) and the sessions
// (sessions.js) have modules of their own. Every piece of text is set with
// textContent, never as HTML, and a new key is held only by the element
// that shows it, until the user is done with it.

import * as api from "./api.js";
import * as cip30 from "./cip30.js";
import * as onboarding from "./onboarding.js";
import * as session from "./session.js";
import * as sessions from "./sessions.js";
import { shownOnce } from "./shownonce.js";
import { timeElement } from "./time.js";

const $ = (id) => document.getElementById(id);

const ui = {
  error: $("error"),
  status: $("status"),
  connect: $("connect"),
  walletsLooking: $("wallets-looking"),
  wallets: $("wallets"),
  noWallet: $("no-wallet"),
  rescan: $("wallets-rescan"),
  signin: $("signin"),
  connectedWallet: $("connected-wallet"),
  connectedAddress: $("connected-address"),
  signinButton: $("signin-button"),
  disconnect: $("disconnect"),
  account: $("account"),
  accountWallet: $("account-wallet"),
  keyMasked: $("key-masked"),
  keyCreated: $("key-created"),
  keyLastUsed: $("key-last-used"),
  generate: $("generate"),
  revoke: $("revoke"),
  newKey: $("new-key"),
  newKeyReplaced: $("new-key-replaced"),
  newKeyValue: $("new-key-value"),
  copy: $("copy"),
  copyStatus: $("copy-status"),
  newKeyDone: $("new-key-done"),
  signout: $("signout"),
  confirm: $("confirm"),
  confirmTitle: $("confirm-title"),
  confirmText: $("confirm-text"),
  confirmOk: $("confirm-ok"),
  confirmCancel: $("confirm-cancel"),
};

let wallet = null; // the connected wallet: {id, name, api, addressHex, address}
let liveKey = null; // what the server says of the live key: {masked_key, created_at, last_used_at}, or null

// ---- messages

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
  ui.status.textContent = "";
}

function clearError() {
  ui.error.hidden = true;
  ui.error.textContent = "";
}

function say(message) {
  ui.status.textContent = message;
}

// messageOf returns the words of an error: ours are written for people;
// anything else (a bug in this page) gets a plain sentence, never its text.
function messageOf(err) {
  if (err instanceof api.ServerError || err instanceof cip30.WalletError) return err.message;
  console.error(err);
  return "Something went wrong in this page. Reload it and try again.";
}

// busy runs an action with every button of the page disabled, so that a
// double click cannot send two requests, and reports its failure.
async function busy(action) {
  const buttons = [...document.querySelectorAll("main button")];
  const was = buttons.map((b) => b.disabled);
  buttons.forEach((b) => (b.disabled = true));
  document.body.setAttribute("aria-busy", "true");
  clearError();
  try {
    await action();
  } catch (err) {
    if (err instanceof api.ServerError && err.code === 4010 && session.get()) {
      await sessionEnded();
      return;
    }
    showError(messageOf(err));
  } finally {
    buttons.forEach((b, i) => (b.disabled = was[i]));
    document.body.removeAttribute("aria-busy");
  }
}

// ---- views

function show(view) {
  ui.connect.hidden = view !== "connect";
  ui.signin.hidden = view !== "signin";
  ui.account.hidden = view !== "account";
}

function setTime(dd, iso, otherwise) {
  dd.replaceChildren(iso ? timeElement(iso) : otherwise);
}

function renderKey() {
  if (liveKey) {
    const code = document.createElement("code");
    code.textContent = liveKey.masked_key;
    ui.keyMasked.replaceChildren(code);
    setTime(ui.keyCreated, liveKey.created_at, "—");
    setTime(ui.keyLastUsed, liveKey.last_used_at, "Never");
    ui.generate.textContent = "Rotate key";
    ui.revoke.hidden = false;
  } else {
    ui.keyMasked.textContent = "No key yet";
    ui.keyCreated.textContent = "—";
    ui.keyLastUsed.textContent = "—";
    ui.generate.textContent = "Generate a key";
    ui.revoke.hidden = true;
  }
}

// ---- wallets

let listed = "";

function renderWallets() {
  const found = cip30.discover();
  ui.walletsLooking.hidden = true;
  ui.noWallet.hidden = found.length > 0;
  const key = JSON.stringify(found);
  if (key === listed) return;
  listed = key;
  ui.wallets.replaceChildren(
    ...found.map((w) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.className = "wallet";
      b.dataset.wallet = w.id;
      if (w.icon) {
        const img = document.createElement("img");
        img.src = w.icon;
        img.alt = "";
        img.width = 24;
        img.height = 24;
        b.append(img);
      }
      b.append(`Connect ${w.name}`);
      b.addEventListener("click", () => busy(() => connectWallet(w)));
      li.append(b);
      return li;
    }),
  );
}

async function connectWallet(w) {
  say(`Asking ${w.name} to connect… Check the wallet's window.`);
  wallet = await cip30.connect(w.id, w.name);
  ui.connectedWallet.textContent = wallet.name;
  ui.connectedAddress.textContent = wallet.address;
  say(`Connected to ${wallet.name}.`);
  show("signin");
  ui.signinButton.focus();
}

// ---- sign-in and out

async function signIn() {
  say("Asking the server for a sign-in message…");
  const ch = await api.challenge(wallet.address);
  say(`Waiting for ${wallet.name}: check the message in the wallet and sign it.`);
  const signed = await cip30.sign(wallet, ch.message);
  say("Checking the signature…");
  const answer = await api.signIn({
    wallet_address: wallet.address,
    nonce: ch.nonce,
    signature: signed.signature,
    key: signed.key,
  });
  const s = session.begin(wallet, answer);
  ui.accountWallet.textContent = s.address;
  liveKey = null;
  renderKey();
  show("account");
  await loadKey();
  const onboarded = await onboarding.load(s.token);
  await sessions.load(s.token);
  say(
    (s.firstTime ? "Signed in. Welcome: your account has been created." : "Signed in.") +
      (onboarded ? "" : " Set up your operation key below, so your bots can trade."),
  );
}

async function loadKey() {
  try {
    liveKey = await api.keyInfo(session.get().token);
  } catch (err) {
    if (!(err instanceof api.ServerError && err.code === 4404)) throw err;
    liveKey = null;
  }
  renderKey();
}

// leave shows the signed-out page, with nothing of the account left on it.
// The token must be gone already (session.end or session.forget).
function leave() {
  hideKey();
  onboarding.reset();
  sessions.reset();
  liveKey = null;
  show(wallet ? "signin" : "connect");
}

async function signOut() {
  const ended = await session.end();
  leave();
  if (ended) say("Signed out.");
  else showError("Signed out of this page, but the server could not be told: this session stays valid until it expires. To end it, sign in again and sign out, or sign out everywhere.");
  ui.signinButton.focus();
}

async function sessionEnded() {
  session.forget();
  leave();
  showError("Your session has ended: it expired, or you signed out everywhere. Sign in again.");
}

function signedOutEverywhere(ended) {
  session.forget();
  leave();
  say(`Signed out everywhere: ${ended === 1 ? "1 session" : `${ended} sessions`} ended, this one included.`);
  ui.signinButton.focus();
}

// ---- keys

const newKeyPanel = shownOnce({ panel: ui.newKey, value: ui.newKeyValue, copy: ui.copy, status: ui.copyStatus });

function showKey(key, replaced) {
  ui.newKeyReplaced.hidden = !replaced;
  newKeyPanel.show(key);
}

function hideKey() {
  newKeyPanel.hide();
}

async function generate() {
  const replacing = liveKey !== null;
  if (replacing) {
    const ok = await confirmAction(
      "Rotate your API key?",
      `Your current key (${liveKey.masked_key}) stops working the moment the new one is made. Bots still using it get "Unauthorized" until you give them the new key.`,
      "Rotate key",
    );
    if (!ok) return;
  }
  hideKey();
  say(replacing ? "Rotating your key…" : "Generating your key…");
  const issued = await api.newKey(session.get().token);
  showKey(issued.api_key, replacing);
  say(replacing ? "Your key was rotated. Copy the new one now." : "Your key was generated. Copy it now.");
  await loadKey();
}

async function revoke() {
  const ok = await confirmAction(
    "Revoke your API key?",
    `Your key (${liveKey.masked_key}) stops working at once, everywhere. Do this if it may have leaked. You can generate a new one afterwards.`,
    "Revoke key",
  );
  if (!ok) return;
  hideKey();
  say("Revoking your key…");
  const revoked = await api.revokeKey(session.get().token);
  await loadKey();
  const when = new Date(revoked.revoked_at);
  say(`Key ${revoked.masked_key} was revoked at ${Number.isNaN(when.getTime()) ? revoked.revoked_at : when.toLocaleString()}. It no longer works.`);
}

// ---- confirmation

function confirmAction(title, text, ok) {
  ui.confirmTitle.textContent = title;
  ui.confirmText.textContent = text;
  ui.confirmOk.textContent = ok;
  ui.confirm.returnValue = "";
  ui.confirm.showModal();
  return new Promise((resolve) => {
    ui.confirm.addEventListener("close", () => resolve(ui.confirm.returnValue === "ok"), { once: true });
  });
}

// ---- wiring

ui.confirmOk.addEventListener("click", () => ui.confirm.close("ok"));
ui.confirmCancel.addEventListener("click", () => ui.confirm.close("cancel"));
ui.rescan.addEventListener("click", renderWallets);
ui.signinButton.addEventListener("click", () => busy(signIn));
ui.disconnect.addEventListener("click", () => {
  wallet = null;
  clearError();
  say("");
  show("connect");
});
ui.generate.addEventListener("click", () => busy(generate));
ui.revoke.addEventListener("click", () => busy(revoke));
ui.newKeyDone.addEventListener("click", () => {
  hideKey();
  say("The key is no longer shown on this page.");
  ui.generate.focus();
});
ui.signout.addEventListener("click", () => busy(signOut));
onboarding.setup({ busy, say, token: () => session.get().token });
sessions.setup({ busy, say, confirm: confirmAction, token: () => session.get().token, signedOut: signedOutEverywhere });
// A key must not outlive the page in any form the browser might keep.
window.addEventListener("pagehide", hideKey);

show("connect");
renderWallets();
// Wallet extensions may put themselves in window.cardano after the page
// has loaded: look again a few times.
for (const ms of [250, 1000, 3000]) setTimeout(renderWallets, ms);
