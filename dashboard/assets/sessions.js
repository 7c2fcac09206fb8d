// Sessions: where the account is signed in. Each sign-in with the wallet
// is a session on the server, listed here with "this device" marked; "Sign
// out everywhere" ends them all, this one included.

import * as api from "./api.js";
import { timeElement } from "./time.js";

const $ = (id) => document.getElementById(id);

const ui = {
  section: $("sessions"),
  list: $("sessions-list"),
  refresh: $("sessions-refresh"),
  everywhere: $("signout-everywhere"),
};

/** reset empties and hides the panel: on sign-out. */
export function reset() {
  ui.list.replaceChildren();
  ui.section.hidden = true;
}

/** load lists the account's live sessions. */
export async function load(token) {
  const answer = await api.sessions(token);
  const list = Array.isArray(answer.sessions) ? answer.sessions : [];
  ui.list.replaceChildren(...list.map(item));
  ui.section.hidden = false;
}

function fact(dl, term, iso, otherwise) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.append(typeof iso === "string" && iso ? timeElement(iso) : otherwise);
  dl.append(dt, dd);
}

function item(s) {
  const li = document.createElement("li");
  li.className = "session";
  const title = document.createElement("p");
  title.className = "session-title";
  if (s.current === true) {
    li.classList.add("current");
    li.setAttribute("aria-current", "true");
    const strong = document.createElement("strong");
    strong.textContent = "This device";
    title.append(strong, " (this page)");
  } else {
    title.textContent = "Another sign-in";
  }
  const dl = document.createElement("dl");
  dl.className = "facts";
  fact(dl, "Signed in", s.created_at, "—");
  fact(dl, "Last used", s.last_used_at, "Not yet");
  fact(dl, "Expires", s.expires_at, "—");
  li.append(title, dl);
  return li;
}

/**
 * setup wires the panel. busy, say and token are as for onboarding;
 * confirm(title, text, ok) asks the user and resolves to their answer;
 * signedOut(n) is called once every session, this one included, has ended.
 */
export function setup({ busy, say, confirm, token, signedOut }) {
  ui.refresh.addEventListener("click", () =>
    busy(async () => {
      await load(token());
      say("The list of sessions is up to date.");
    }),
  );
  ui.everywhere.addEventListener("click", () =>
    busy(async () => {
      const ok = await confirm(
        "Sign out everywhere?",
        "Every session of your account ends at once, this one included: every browser signed in with your wallet must sign in again. Your API key and your bots are not affected.",
        "Sign out everywhere",
      );
      if (!ok) return;
      say("Signing out everywhere…");
      const answer = await api.signOutEverywhere(token());
      signedOut(typeof answer.ended === "number" ? answer.ended : 0);
    }),
  );
}
