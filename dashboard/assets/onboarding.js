// Onboarding: the account's operation key. If the account has none, the
// page offers to make one: the user sets a password, the browser makes the
// key and seals it (opkey.js), and only the sealed blob and its hash go to
// the server. The password lives in its two fields until the key is sealed,
// then they are emptied; the key's text lives in a local variable, or, if
// the user asked to see it, in the element that shows it until they are
// done. Nothing is written to any storage.

import * as api from "./api.js";
import * as opkey from "./opkey.js";
import { shownOnce } from "./shownonce.js";

/** MIN_PASSWORD is the least number of characters a password may have. */
export const MIN_PASSWORD = 12;

const $ = (id) => document.getElementById(id);

const ui = {
  state: $("opkey-state"),
  section: $("onboarding"),
  form: $("onboarding-form"),
  password: $("op-password"),
  again: $("op-password-again"),
  help: $("op-password-help"),
  showKey: $("op-show-key"),
  error: $("onboarding-error"),
  submit: $("onboard"),
  newKey: $("new-opkey"),
  newKeyValue: $("new-opkey-value"),
  copy: $("opkey-copy"),
  copyStatus: $("opkey-copy-status"),
  done: $("new-opkey-done"),
};

const { show: showKey, hide: hideKey } = shownOnce({
  panel: ui.newKey, value: ui.newKeyValue, copy: ui.copy, status: ui.copyStatus,
});

/** reset forgets everything onboarding showed: on sign-out. */
export function reset() {
  clearForm();
  formError(null, "");
  hideKey();
  ui.section.hidden = true;
  ui.state.textContent = "…";
}

/**
 * load asks the server whether the account has an operation key, shows
 * the answer, and offers onboarding when it has none (4405). It returns
 * whether the account is onboarded.
 */
export async function load(token) {
  try {
    const k = await api.operationKey(token);
    render(k.operation_key_hash);
    return true;
  } catch (err) {
    if (!(err instanceof api.ServerError && err.code === 4405)) throw err;
    render(null);
    return false;
  }
}

function render(hash) {
  if (hash) {
    const code = document.createElement("code");
    code.textContent = hash.length > 16 ? `${hash.slice(0, 16)}…` : hash;
    code.title = hash;
    ui.state.replaceChildren("Set up; its fingerprint is ", code);
    ui.section.hidden = true;
  } else {
    ui.state.textContent = "Not set up yet";
    ui.section.hidden = false;
  }
}

function clearForm() {
  ui.password.value = "";
  ui.again.value = "";
  ui.showKey.checked = false;
}

// formError shows a mistake in the form next to it, marks the field, and
// puts the focus there; formError(null, "") clears it.
function formError(field, message) {
  for (const f of [ui.password, ui.again]) f.removeAttribute("aria-invalid");
  ui.error.textContent = message;
  ui.error.hidden = message === "";
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-errormessage", "onboarding-error");
    field.focus();
  }
}

async function onboard(say, token) {
  formError(null, "");
  const password = ui.password.value;
  if ([...password].length < MIN_PASSWORD) {
    formError(ui.password, `The password is too short: use at least ${MIN_PASSWORD} characters.`);
    return;
  }
  if (ui.again.value !== password) {
    ui.again.value = "";
    formError(ui.again, "The two passwords are not the same. Type the password again in the second field.");
    return;
  }
  const keep = ui.showKey.checked;
  say("Making your operation key and encrypting it with your password…");
  let made = await opkey.create(password);
  clearForm();
  say("Storing the encrypted operation key…");
  try {
    await api.createSpotAccount(token, made.encrypted, made.hash);
  } catch (err) {
    made = null;
    // Already onboarded (another tab, a bot's tool): show what is stored.
    if (err instanceof api.ServerError && err.code === 4090) await load(token);
    throw err;
  }
  render(made.hash);
  if (keep) {
    showKey(made.keyText);
    say("Your operation key is stored, encrypted. Copy it now to keep your own copy.");
  } else {
    say("Your operation key is stored, encrypted with your password. Your bots can load it now.");
    ui.state.focus();
  }
  made = null;
}

/**
 * setup wires the onboarding form. busy runs an action as the page runs
 * every action (buttons disabled, failures shown); say shows progress;
 * token returns the session's token.
 */
export function setup({ busy, say, token }) {
  ui.help.textContent = `At least ${MIN_PASSWORD} characters. A long phrase of a few unrelated words is easy to type and hard to guess.`;
  ui.state.tabIndex = -1; // focusable by the page, not in the Tab order
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault(); // nothing is ever submitted: CSP form-action 'none'
    busy(() => onboard(say, token()));
  });
  ui.done.addEventListener("click", () => {
    hideKey();
    say("The operation key is no longer shown on this page.");
    ui.state.focus();
  });
  window.addEventListener("pagehide", () => {
    hideKey();
    clearForm();
  });
}
