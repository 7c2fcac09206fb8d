package wallet

import "testing"

func BenchmarkVerifySignData(b *testing.B) {
	v := loadVectors(b)[0] // base-payment-key: a real wallet's output
	addr, err := ParsePaymentAddress(v.WalletAddress, Mainnet)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(*v.Message)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignData(addr, Mainnet, msg, v.Signature, v.Key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePaymentAddress(b *testing.B) {
	const s = "addr1qxtu4w2rq2mdguw4fkms2ge4m070nq8cmlyjfhghwlh8sjscnp7pvysxn4qgpg8ty3uzpjuc0l4gr0w74t7ag8uev2qseuyw6u"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePaymentAddress(s, Mainnet); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignData(b *testing.B) {
	w := newWallet(b, Mainnet)
	msg := []byte("espresso sign-in nonce 6b1f0c2a")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := SignData(w.priv, w.addr, msg); err != nil {
			b.Fatal(err)
		}
	}
}
