// Browser wallets, as CIP-30 describes them: each installed wallet puts an
// object in window.cardano; enable() asks the user to let this site use it,
// and the API it returns can sign data with the wallet's keys.

import { addressFromHex } from "./bech32.js";

/** WalletError is a wallet failure, with a message fit to show. */
export class WalletError extends Error {
  constructor(message) {
    super(message);
    this.name = "WalletError";
  }
}

/**
 * discover lists the wallets present in window.cardano: [{id, name, icon}].
 * A wallet listed under several names appears once. The icon is kept only
 * when it is a data: image, the only kind the page's CSP lets it show.
 */
export function discover() {
  const root = window.cardano;
  if (!root || typeof root !== "object") return [];
  const seen = new Set();
  const found = [];
  for (const id of Object.keys(root)) {
    let w;
    try {
      w = root[id];
    } catch {
      continue; // a hostile getter
    }
    if (!w || typeof w !== "object" || typeof w.enable !== "function" || seen.has(w)) continue;
    seen.add(w);
    const name = typeof w.name === "string" && w.name.trim() ? w.name.trim().slice(0, 40) : id;
    const icon = typeof w.icon === "string" && /^data:image\/(png|svg\+xml|jpeg|gif|webp)[;,]/.test(w.icon) ? w.icon : "";
    found.push({ id, name, icon });
  }
  found.sort((a, b) => a.name.localeCompare(b.name));
  return found;
}

/**
 * connect enables the wallet with the given id and picks the address to
 * sign in with: the first used address, or the change address of a wallet
 * never used. It returns {id, name, api, addressHex, address}.
 */
export async function connect(id, name) {
  const w = window.cardano && window.cardano[id];
  if (!w || typeof w.enable !== "function") {
    throw new WalletError(`${name} is no longer available in this browser. Reload the page.`);
  }
  let api;
  try {
    api = await w.enable();
  } catch (err) {
    throw new WalletError(describe(err, name, "connect"));
  }
  let addressHex;
  try {
    const used = await api.getUsedAddresses();
    addressHex = Array.isArray(used) && typeof used[0] === "string" ? used[0] : await api.getChangeAddress();
  } catch (err) {
    throw new WalletError(describe(err, name, "connect"));
  }
  let address;
  try {
    address = addressFromHex(addressHex);
  } catch {
    throw new WalletError(`${name} gave an address this page cannot read. Choose a Shelley-era account in the wallet and try again.`);
  }
  return { id, name, api, addressHex, address };
}

/**
 * sign asks the wallet to sign message (a string) with its address, as
 * CIP-30 signData(address, hex(message)), and returns {signature, key}.
 */
export async function sign(wallet, message) {
  const payload = Array.from(new TextEncoder().encode(message), (b) => b.toString(16).padStart(2, "0")).join("");
  let signed;
  try {
    // The address goes back as the wallet gave it (hex); every wallet accepts that.
    signed = await wallet.api.signData(wallet.addressHex, payload);
  } catch (err) {
    throw new WalletError(describe(err, wallet.name, "sign"));
  }
  if (!signed || typeof signed.signature !== "string" || typeof signed.key !== "string") {
    throw new WalletError(`${wallet.name} returned a signature this page cannot use. Is the wallet up to date?`);
  }
  return { signature: signed.signature, key: signed.key };
}

// describe turns what a wallet threw into words. CIP-30 wallets throw
// {code, info}: APIError codes are negative, DataSignError codes positive.
function describe(err, name, doing) {
  const code = err && typeof err === "object" && typeof err.code === "number" ? err.code : undefined;
  switch (code) {
    case -1:
      return `${name} did not understand the request. Is the wallet up to date?`;
    case -2:
      return `${name} ran into an internal error. Try again, or restart the wallet.`;
    case -3:
      return doing === "connect"
        ? `${name} refused to connect to this site. Allow the connection in the wallet and try again.`
        : `${name} refused the request.`;
    case -4:
      return `The account in ${name} changed. Connect again.`;
    case 1:
      return `${name} could not make the signature. Try again.`;
    case 2:
      return `${name} cannot sign with this address. Choose an account with a payment key in the wallet.`;
    case 3:
      return `You declined to sign in ${name}, so you are not signed in. Signing costs nothing and moves no funds; try again when you are ready.`;
  }
  return doing === "connect"
    ? `${name} could not connect. Unlock the wallet and try again.`
    : `${name} could not sign the message. Unlock the wallet and try again.`;
}
