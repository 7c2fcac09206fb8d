// Package wallet is espresso's view of Cardano wallets: Shelley addresses in
// bech32 (CIP-5, CIP-19), the CIP-30 signData signature (a CIP-8
// COSE_Sign1 with a COSE_Key) by which a wallet proves it controls an
// address, and root private keys (BIP32-Ed25519, made as Icarus wallets
// make them, in bech32 "xprv"), which bots trade with. It is pure: no I/O,
// no global state, and it depends on nothing else in espresso.
//
// The sign-in policy it implements is deliberately narrower than CIP-8:
// only addresses whose payment part is a key hash can sign in, the signed
// address must be byte-for-byte the presented one, payloads must be
// attached, and CBOR must be strictly encoded. Anything a wallet does not
// produce is refused, so that the server and an attacker can never read the
// same bytes differently.
package wallet
