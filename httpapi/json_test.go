package httpapi

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendJSONString_WritesWhatEncodingJSONWrites(t *testing.T) {
	for _, s := range []string{"", "plain", "dk_live_Ab3d…9xYz", "6f1c2b3a-0000-4000-8000-000000000000",
		`quote " and \ back`, "<tag>&amp;", "tab\tnewline\n", "\x00\x1f\x7f", "bad \xff utf-8",
		"line\u2028sep\u2029", "ünïcødé 🎉"} {
		want, _ := json.Marshal(s)
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestKeyInfo_EncodesAsEncodingJSONWould(t *testing.T) {
	created := time.Date(2026, 11, 27, 17, 0, 0, 123456789, time.FixedZone("CET", 3600))
	used := created.Add(90 * time.Minute)
	type plain struct { // what encoding/json makes of the same answer
		AccountID  string  `json:"account_id"`
		MaskedKey  string  `json:"masked_key"`
		APIKey     string  `json:"api_key"`
		CreatedAt  string  `json:"created_at"`
		LastUsedAt *string `json:"last_used_at"`
	}
	usedText := "2026-11-27T17:30:00Z"
	for _, c := range []struct {
		in   keyInfo
		want plain
	}{
		{keyInfo{"a", "dk_live_Ab3d…9xYz", created, time.Time{}}, plain{"a", "dk_live_Ab3d…9xYz", "dk_live_Ab3d…9xYz", "2026-11-27T16:00:00Z", nil}},
		{keyInfo{"b\"", "<m>", created, used}, plain{"b\"", "<m>", "<m>", "2026-11-27T16:00:00Z", &usedText}},
	} {
		want, _ := json.Marshal(c.want)
		if got := c.in.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON = %s, want %s", got, want)
		}
	}
}
