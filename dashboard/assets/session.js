// The signed-in session. Its token lives in this module's memory and
// nowhere else: not in localStorage, not in sessionStorage, not in a cookie,
// not on window. A reload or a closed tab forgets it, and the user signs in
// again with one click in the wallet; in exchange, no script that runs later
// (another tab, a page restored from disk, an extension reading storage) can
// find a token that mints API keys.

import * as api from "./api.js";

let current = null;

/** begin starts a session from the sign-in answer. */
export function begin(wallet, answer) {
  current = Object.freeze({
    token: answer.token,
    userId: answer.user_id,
    address: wallet.address,
    walletName: wallet.name,
    firstTime: answer.is_first_time === true,
    onboardingReady: answer.is_onboarding_ready === true,
  });
  return current;
}

/** get returns the session, or null when signed out. */
export function get() {
  return current;
}

/**
 * end signs out: it tells the server to end the session (POST
 * /accounts/signout), then forgets the token whatever the answer. It
 * returns false only when the server may not have ended it: unreachable or
 * failing. A server that refuses the token (4010) has ended it already.
 */
export async function end() {
  const s = current;
  current = null;
  if (!s) return true;
  try {
    await api.signOut(s.token);
    return true;
  } catch (err) {
    return err instanceof api.ServerError && err.code === 4010;
  }
}

/** forget drops the token without telling the server: it has ended the session already. */
export function forget() {
  current = null;
}
