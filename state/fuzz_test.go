package state

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeState feeds state.json decoding arbitrary bytes: it must never panic, must say
// corrupt or newer rather than guess, and what it accepts must survive a save and a load.
func FuzzDecodeState(f *testing.F) {
	for _, seed := range []string{
		`{"version":2,"users":{"0003":{"id":3,"applied":"on","written":true,"owned":true}}}`,
		`{"version":2,"users":{"0003":{"id":3,"session":{"entra_id":"e","availability":"DoNotDisturb","activity":"Presenting","expires":"2026-01-02T03:04:05Z"}}},"graph_not_before":"2026-01-02T03:04:05Z"}`,
		`{"version":1,"users":{"0003":{"starface_id":3,"entra_id":"e","owned":true,"session":{"availability":"A","activity":"B","expires":"2026-01-02T03:04:05Z"}}},"match":{"time":"2026-01-02T03:04:05Z","entries":[]}}`,
		`{"version":3,"users":{"0003":{"id":3,"redirect":"on","redirects":[{"id":"r-1","before":{"id":"r-1","enabled":false,"x":[1,2]},"wrote":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}},{"id":"","before":null,"wrote":null}]}}}`,
		`{"version":3,"users":{"0003":{"id":3,"redirects":[{"id":"r-1","before":"not an object","wrote":1}]}}}`,
		`{"version":4}`, `{"version":3}`, `{"version":0}`, `{}`, `null`, `[]`, `{"version":2,"users":{"x":null}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := decode("state.json", raw)
		if err != nil {
			var ce *CorruptError
			var ve *VersionError
			if !errors.As(err, &ce) && !errors.As(err, &ve) {
				t.Fatalf("decode error %T: %v", err, err)
			}
			return
		}
		data, err := encode(st)
		if err != nil {
			t.Fatalf("encode of a decoded state: %v", err)
		}
		again, err := decode("state.json", data)
		if err != nil {
			t.Fatalf("decode of an encoded state: %v\n%s", err, data)
		}
		data2, _ := encode(again)
		if !bytes.Equal(data, data2) {
			t.Fatalf("round trip differs:\n%s\n%s", data, data2)
		}
	})
}

// FuzzParseJournal feeds the intent journal arbitrary bytes: never a panic; a torn last line is
// dropped, anything else that does not parse is corrupt; what parses survives a rewrite.
func FuzzParseJournal(f *testing.F) {
	for _, seed := range []string{
		`{"login":"0003","starface_id":3,"want":true,"at":"2025-03-04T10:00:00Z"}` + "\n",
		`{"kind":"session-set","login":"0003","entra_id":"e","availability":"DoNotDisturb","activity":"Presenting","expires":"2025-03-04T10:15:00Z","at":"2025-03-04T10:00:00Z"}` + "\n" + `{"login":"00`,
		"\n\n", "{}\n", "garbage\n{}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := parseJournal("journal", raw)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("parse error %T: %v", err, err)
			}
			return
		}
		data, err := encodeIntents(in)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseJournal("journal", data)
		if err != nil || len(again) != len(in) {
			t.Fatalf("rewritten journal: %d intents, %v; want %d", len(again), err, len(in))
		}
		for i := range in {
			if !reflect.DeepEqual(stripMono(again[i]), stripMono(in[i])) && !again[i].At.Equal(in[i].At) {
				t.Fatalf("intent %d: %+v, want %+v", i, again[i], in[i])
			}
		}
	})
}

func stripMono(in Intent) Intent {
	in.At = in.At.Round(0)
	in.Expires = in.Expires.Round(0)
	return in
}
