// The server's JSON API, and the one place where its answers become words.
// No server answer is ever shown as it came: every failure is a ServerError
// whose message is a sentence for people.

/** A failed request, with a message fit to show. */
export class ServerError extends Error {
  constructor(message, status, code) {
    super(message);
    this.name = "ServerError";
    this.status = status; // HTTP status, 0 when the server was not reached
    this.code = code; // the platform's error code, 0 when there was none
  }
}

// What each of the server's error codes means to a person, whatever the
// request. An operation can say it better for itself (see `words` below).
const MEANING = {
  4000: "The server could not accept that request.",
  4010: "Your session has ended. Sign in again.",
  4040: "The server does not know that address. Is this page up to date? Reload it.",
  4050: "The server does not allow that here. Reload the page and try again.",
  4090: "That conflicts with the current state of your account. Reload the page and try again.",
  4130: "That request was too large for the server.",
  4290: "Too many attempts from your network. Wait a minute, then try again.",
  4400: "The server has no account for this wallet.",
  4404: "Your account has no API key.",
  4405: "Your account has no operation key yet.",
  5000: "Something went wrong on the server. Try again; if it keeps happening, tell the operator.",
  5001: "The server is temporarily unavailable. Try again in a moment.",
};

function meaning(status, code, words) {
  if (words && words[code]) return words[code];
  if (MEANING[code]) return MEANING[code];
  if (status >= 500) return `The server failed (HTTP ${status}). Try again in a moment.`;
  return `The server refused the request (HTTP ${status}).`;
}

/**
 * request sends one API request and returns the decoded JSON answer (null
 * for a 204), or throws a ServerError. token, if given, goes in Authorization (bare, as the
 * platform's web app sends it); words override MEANING for this operation.
 */
export async function request(method, path, { token, body, words } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit", // the API uses no cookies; never send any
      redirect: "error",
    });
  } catch {
    throw new ServerError("Cannot reach the server. Check your connection and try again.", 0, 0);
  }
  if (resp.status === 204) return null; // done, nothing to say (sign-out)
  let data = null;
  try {
    data = await resp.json();
  } catch {
    // Not JSON (a proxy's error page, net/http's plain-text 431, …).
  }
  if (resp.ok && data !== null && typeof data === "object") return data;
  const code = data && typeof data.code === "number" ? data.code : 0;
  if (resp.ok) {
    throw new ServerError("The server gave an answer this page does not understand. Reload the page.", resp.status, code);
  }
  throw new ServerError(meaning(resp.status, code, words), resp.status, code);
}

/** challenge asks for the message a wallet must sign to sign in. */
export function challenge(walletAddress) {
  return request("POST", "/accounts/signin/challenge", {
    body: { wallet_address: walletAddress },
    words: {
      4000: "This wallet's address cannot sign in here. It must be a payment address (addr1… or addr_test1…) on the network this server runs on.",
      4290: "Too many sign-in attempts from your network. Wait a minute, then try again.",
    },
  });
}

/** signIn sends the wallet's signature of a challenge and returns the session. */
export function signIn(proof) {
  return request("POST", "/accounts/signin", {
    body: proof,
    words: {
      4000: "The wallet's signature was not in a form the server understands.",
      4010: "The server did not accept the wallet's signature. The sign-in message may have expired (they last five minutes): try again.",
      4290: "Too many sign-in attempts from your network. Wait a minute, then try again.",
    },
  });
}

/** keyInfo describes the account's live key; a ServerError with code 4404 means it has none. */
export function keyInfo(token) {
  return request("GET", "/accounts/api-key", { token });
}

/** newKey issues a key, revoking the live one if any, and returns {api_key, created_at}. */
export function newKey(token) {
  return request("GET", "/accounts/new-api-key", { token });
}

/** revokeKey revokes the live key and returns {masked_key, revoked_at}. */
export function revokeKey(token) {
  return request("DELETE", "/accounts/api-key", {
    token,
    words: { 4404: "There is no key to revoke: your account has none." },
  });
}

/** operationKey returns the account's {encrypted_operation_key, operation_key_hash}; code 4405 means it has none. */
export function operationKey(token) {
  return request("GET", "/accounts/operation-key", { token });
}

/**
 * createSpotAccount onboards the account with a sealed operation key and
 * returns the spot account. It is done once: a second time is 409 4090.
 */
export function createSpotAccount(token, encrypted, hash) {
  return request("POST", "/accounts/spot-account", {
    token,
    body: { encrypted_operation_key: encrypted, operation_key_hash: hash, is_script_operation_key: false },
    words: {
      4000: "The server did not accept the encrypted operation key. Reload the page and try again.",
      4090: "Your account already has an operation key (it was set up elsewhere, perhaps in another tab). It cannot be replaced; your bots use the one stored.",
    },
  });
}

/** signOut ends the token's session on the server (204). */
export function signOut(token) {
  return request("POST", "/accounts/signout", { token });
}

/**
 * sessions lists the account's live sessions, newest first:
 * {sessions: [{created_at, last_used_at, expires_at, current}]}.
 */
export function sessions(token) {
  return request("GET", "/accounts/sessions", { token });
}

/** signOutEverywhere ends every session of the account, this one included: {ended}. */
export function signOutEverywhere(token) {
  return request("DELETE", "/accounts/sessions", { token });
}
