// The operation key, made and sealed in the browser. It is a Cardano root
// private key, made as the wallet package's NewRootKey makes it, and sealed
// with the user's password as the opkey package's Seal seals it, which is
// how the platform's clients open it. Everything here is WebCrypto; nothing
// is stored and nothing leaves this module but the sealed blob, the hash,
// and (only when asked) the key's text for the user to copy.

import { bech32 } from "./bech32.js";

/** The scheme's parameters: the same as opkey.Seal's. */
export const ITERATIONS = 100000;
export const IV_SIZE = 12; // what every client opens, Go's cipher.NewGCM included
export const SALT_SIZE = 16;

const ROOT_KEY_SIZE = 96;
const utf8 = new TextEncoder();

/**
 * rootKeyFromEntropy derives a wallet's root key from the entropy of its
 * recovery phrase (16 to 32 bytes, a multiple of 4) as Icarus wallets do
 * (CIP-3), exactly as wallet.NewRootKey: PBKDF2-HMAC-SHA512 of the empty
 * password with the entropy as salt, 4096 iterations, 96 bytes, the scalar
 * clamped. It returns the key as bech32 "xprv1…" text.
 */
export async function rootKeyFromEntropy(entropy) {
  if (!(entropy instanceof Uint8Array) || entropy.length < 16 || entropy.length > 32 || entropy.length % 4 !== 0) {
    throw new Error("the entropy of a recovery phrase is 16 to 32 bytes, a multiple of 4");
  }
  // The empty password, as 128 zero bytes: HMAC pads a shorter key with
  // zeros to its block size (SHA-512's is 128 bytes), so the two are the
  // same key, and this one every browser imports (some refuse an empty one).
  const empty = await crypto.subtle.importKey("raw", new Uint8Array(128), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt: entropy, iterations: 4096 },
    empty,
    ROOT_KEY_SIZE * 8,
  );
  const k = new Uint8Array(bits);
  // BIP32-Ed25519: kL a multiple of the cofactor, its top bit clear, the
  // next set, and the third clear (see wallet/rootkey.go).
  k[0] &= 0b1111_1000;
  k[31] &= 0b0001_1111;
  k[31] |= 0b0100_0000;
  const text = bech32("xprv", k);
  k.fill(0);
  return text;
}

/** hash is opkey.Hash: the SHA-256 of the key's text, in lower-case hex. */
export async function hash(keyText) {
  const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(keyText)));
  return Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join("");
}

function base64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * seal encrypts keyText with password as opkey.Seal does: a fresh 12-byte
 * IV and 16-byte salt, PBKDF2-HMAC-SHA256 of the password's UTF-8 bytes,
 * 100,000 iterations, a 32-byte AES-256-GCM key, the 16-byte tag appended
 * to the ciphertext (WebCrypto appends it). It returns the blob's text,
 * {"iv","salt","ciphertext"} in standard base64, as opkey.Blob.String
 * writes it.
 */
export async function seal(keyText, password) {
  if (typeof password !== "string" || password === "") throw new Error("the password is empty");
  const iv = crypto.getRandomValues(new Uint8Array(IV_SIZE));
  const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE));
  const secret = utf8.encode(password);
  const base = await crypto.subtle.importKey("raw", secret, "PBKDF2", false, ["deriveKey"]);
  secret.fill(0);
  const aes = await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS },
    base,
    { name: "AES-GCM", length: 256 },
    false, // the AES key cannot be exported, only used here
    ["encrypt"],
  );
  const plain = utf8.encode(keyText);
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, tagLength: 128 }, aes, plain));
  plain.fill(0);
  return JSON.stringify({ iv: base64(iv), salt: base64(salt), ciphertext: base64(ciphertext) });
}

/**
 * create makes a fresh operation key from 32 bytes of crypto.getRandomValues
 * (a 24-word phrase's worth, as wallet.GenerateRootKey) and seals it with
 * password. It returns {encrypted, hash, keyText}: the caller keeps keyText
 * only if the user asked to see it.
 */
export async function create(password) {
  const entropy = crypto.getRandomValues(new Uint8Array(32));
  let keyText;
  try {
    keyText = await rootKeyFromEntropy(entropy);
  } finally {
    entropy.fill(0);
  }
  return { encrypted: await seal(keyText, password), hash: await hash(keyText), keyText };
}
