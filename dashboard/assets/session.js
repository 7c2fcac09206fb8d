// The signed-in session. Its token lives in this module's memory and
// nowhere else: not in localStorage, not in sessionStorage, not in a cookie,
// not on window. A reload or a closed tab forgets it, and the user signs in
// again with one click in the wallet; in exchange, no script that runs later
// (another tab, a page restored from disk, an extension reading storage) can
// find a token that mints API keys.

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
 * end signs out. Today that means forgetting the token: the server keeps
 * no sessions, and the token expires by itself. When issue 9 lands, end
 * first sends POST /accounts/signout with the token (ignoring a failure:
 * the token is forgotten either way).
 */
export async function end() {
  current = null;
}
