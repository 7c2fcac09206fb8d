// Cardano addresses as text. CIP-30 wallets hand out addresses as hex of
// their raw bytes; the server and people want them in bech32 (CIP-5, CIP-19),
// the addr1…/addr_test1… form. This is BIP-173 bech32 (not bech32m) without
// its 90-character limit, which CIP-5 lifts.

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values) {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk = (chk ^ GENERATORS[i]) >>> 0;
    }
  }
  return chk;
}

function hrpExpand(hrp) {
  const out = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

// toWords regroups 8-bit bytes into 5-bit values, padding the last one.
function toWords(bytes) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >>> bits) & 31);
    }
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

/** bech32 encodes bytes (a Uint8Array) under the human-readable part hrp. */
export function bech32(hrp, bytes) {
  const words = toWords(bytes);
  const mod = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  let out = hrp + "1";
  for (const w of words) out += CHARSET[w];
  for (let i = 0; i < 6; i++) out += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** hexToBytes decodes an even-length hex string, or throws. */
export function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error("not hex");
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * addressFromHex turns the hex bytes of a Shelley address, as a CIP-30
 * wallet returns them, into its bech32 text: "addr" for payment addresses
 * (header types 0–7), "stake" for reward addresses (14, 15), with "_test"
 * on testnets (network id 0). It throws for anything else (Byron addresses
 * have no bech32 form).
 */
export function addressFromHex(hex) {
  const bytes = hexToBytes(hex);
  if (bytes.length < 29) throw new Error("too short for a Shelley address");
  const type = bytes[0] >>> 4;
  const network = bytes[0] & 0x0f;
  let prefix;
  if (type <= 7) prefix = "addr";
  else if (type === 14 || type === 15) prefix = "stake";
  else throw new Error("not a Shelley address");
  if (network === 0) prefix += "_test";
  else if (network !== 1) throw new Error("unknown network");
  return bech32(prefix, bytes);
}
