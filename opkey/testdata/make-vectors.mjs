// Makes vectors.json: blobs sealed by WebCrypto (crypto.subtle), the
// implementation the platform's web app and TypeScript client use, for
// opkey's tests to open. Run with Node 18 or later:
//
//	node opkey/testdata/make-vectors.mjs > opkey/testdata/vectors.json
//
// Each case seals the same text with PBKDF2-HMAC-SHA256 (100,000
// iterations) and AES-256-GCM, varying the IV size and the salt: the web
// app's form (16-byte IV, a salt as long), espresso's (12-byte IV, 16-byte
// salt), and the older form with no salt, which means a zero salt as long
// as the IV.
const { subtle } = globalThis.crypto;
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

const b64 = (bytes) => Buffer.from(bytes).toString("base64");

async function seal(text, password, ivSize, saltSize) {
  const iv = random(ivSize);
  const salt = saltSize ? random(saltSize) : new Uint8Array(ivSize);
  const material = await subtle.importKey("raw", new TextEncoder().encode(password), { name: "PBKDF2" }, false, ["deriveKey"]);
  const key = await subtle.deriveKey(
    { name: "PBKDF2", salt, iterations: 100000, hash: "SHA-256" },
    material, { name: "AES-GCM", length: 256 }, false, ["encrypt"]);
  const ciphertext = new Uint8Array(await subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(text)));
  const blob = saltSize ? { iv: b64(iv), salt: b64(salt), ciphertext: b64(ciphertext) } : { iv: b64(iv), ciphertext: b64(ciphertext) };
  return JSON.stringify(blob);
}

// A published test key (wallet/rootkey_test.go), never one with funds.
const key = "xprv1vzrzr76vqyqlavclduhawqvtae2pq8lk0424q7t8rzfjyhhp530zxv2fwq5a3pd4vdzqtu6s2zxdjhww8xg4qwcs7y5dqne5k7mz27p6rcaath83rl20nz0v9nwdaga9fkufjuucza8vmny8qpkzwstk5quneyk9";
const cases = [
  ["the web app's form: 16-byte IV, 16-byte salt", "correct horse battery staple", 16, 16],
  ["espresso's form: 12-byte IV, 16-byte salt", "correct horse battery staple", 12, 16],
  ["the older form: 16-byte IV, no salt", "correct horse battery staple", 16, 0],
  ["the older form: 12-byte IV, no salt", "correct horse battery staple", 12, 0],
  ["a password that is not ASCII", "pässwörd 🔑 ключ", 12, 16],
];
const out = [];
for (const [name, password, ivSize, saltSize] of cases) {
  out.push({ name, password, key, blob: await seal(key, password, ivSize, saltSize) });
}
console.log(JSON.stringify(out, null, 1));
