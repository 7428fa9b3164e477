package starface

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A redirect as a PBX might serve it: odd spacing, an order of its own, characters
// encoding/json would escape, fields this client does not know, and the last destinations.
const servedRedirect = `{ "lastPhoneNumberDestination" : {"redirectDestinationType":"PHONENUMBER", "phoneNumber":"0049 30 1"},
  "id":"r\u002f1", "groupNumber":false, "phoneNumber":"201",
  "redirectTrigger":{"redirectTriggerType":"ALWAYS"},
  "redirectDestination":{ "redirectDestinationType":"PHONENUMBER","phoneNumber":"0049301111","label":"<Büro & Co>" },
  "enabled":false,
  "lastMailboxDestination": {"mailboxId": "5",  "redirectDestinationType":"MAILBOX"},
  "ringTimeout": {"seconds":[15, 30], "html":"<&>"},  "futureFlag":null }`

func TestRedirectKeepsTheObject(t *testing.T) {
	r, err := decodeRedirect([]byte(servedRedirect))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != "r/1" || r.Enabled() || r.PhoneNumber() != "201" || r.GroupNumber() || r.Trigger() != TriggerAlways ||
		!r.Destination().Equal(PhoneNumberDestination("0049301111")) {
		t.Fatalf("decoded %v", r)
	}
	in, _ := objectMembers([]byte(servedRedirect))
	tests := []struct {
		name    string
		r       Redirect
		changed map[string]string // member → its new JSON; the others exactly as served
	}{
		{"unchanged", r.WithTarget(false, r.Destination()), nil},
		{"unchanged, destination built here", r.WithTarget(false, PhoneNumberDestination("0049301111")), nil},
		{"only enabled", r.WithTarget(true, Destination{}), map[string]string{"enabled": "true"}},
		{"switched on to a box", r.WithTarget(true, MailboxDestination(5)), map[string]string{
			"enabled": "true", "redirectDestination": `{"mailboxId":"5","redirectDestinationType":"MAILBOX"}`}},
		{"back as it was", r.WithTarget(true, MailboxDestination(5)).WithTarget(false, r.Destination()), nil},
		{"an edited copy of the destination read", r.WithTarget(true, func() Destination {
			d := r.Destination()
			d.PhoneNumber = "0049302222"
			return d
		}()), map[string]string{"enabled": "true", "redirectDestination": `{"phoneNumber":"0049302222","redirectDestinationType":"PHONENUMBER"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.r.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			out, err := objectMembers(b)
			if err != nil || len(out) != len(in) {
				t.Fatalf("%s: %d members, %v; want %d", b, len(out), err, len(in))
			}
			for i, m := range in {
				want, changed := tt.changed[m.key]
				if !changed {
					want = m.raw
				}
				if out[i].key != m.key || out[i].raw != want {
					t.Errorf("member %d: %s=%s, want %s=%s", i, out[i].key, out[i].raw, m.key, want)
				}
			}
			again, err := decodeRedirect(b)
			if err != nil || !again.SameTarget(tt.r) || again.ID() != r.ID() {
				t.Errorf("decoding %s: %v, %v", b, again, err)
			}
		})
	}
	if b, _ := r.MarshalJSON(); !json.Valid(b) || strings.Contains(string(b), `\u003c`) {
		t.Errorf("MarshalJSON = %s: not valid, or re-escaped", b)
	}
}

func TestDecodeRedirect(t *testing.T) {
	const base = `"id":"x","enabled":true,"phoneNumber":"201","groupNumber":false,"redirectTrigger":{"redirectTriggerType":"ALWAYS"}`
	tests := []struct {
		name string
		json string
		err  string // "" decodes
		want string // r.String() when it decodes
	}{
		{"documented", `{` + base + `,"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}}`, "",
			`redirect "x" (201 ALWAYS): on → mailbox 5`},
		{"mailboxId as a number", `{` + base + `,"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":5}}`, "",
			`redirect "x" (201 ALWAYS): on → mailbox 5`},
		{"no destination", `{` + base + `}`, "", `redirect "x" (201 ALWAYS): on → none`},
		{"null destination", `{` + base + `,"redirectDestination":null}`, "", `redirect "x" (201 ALWAYS): on → none`},
		{"unknown destination kind", `{` + base + `,"redirectDestination":{"redirectDestinationType":"USER","userId":3}}`, "",
			`redirect "x" (201 ALWAYS): on → destination USER`},
		{"unknown trigger kept", `{"id":"x","enabled":false,"groupNumber":false,"redirectTrigger":{"redirectTriggerType":"SCHEDULE"}}`, "",
			`redirect "x" ( SCHEDULE): off → none`},
		{"groupNumber missing counts as a group's", `{"id":"x","enabled":false,"phoneNumber":"800"}`, "",
			`redirect "x" (800 , group number): off → none`},
		{"groupNumber null counts as a group's", `{"id":"x","enabled":false,"groupNumber":null}`, "",
			`redirect "x" ( , group number): off → none`},
		{"no id", `{"enabled":true}`, "has no id", ""},
		{"empty id", `{"id":" ","enabled":true}`, "has no id", ""},
		{"numeric id", `{"id":7,"enabled":true}`, "has no id", ""},
		{"no enabled", `{"id":"x"}`, `redirect "x" has no enabled`, ""},
		{"enabled null", `{"id":"x","enabled":null}`, `redirect "x" has no enabled`, ""},
		{"enabled a string", `{"id":"x","enabled":"true"}`, "field enabled", ""},
		{"groupNumber a string", `{"id":"x","enabled":true,"groupNumber":"no"}`, "field groupNumber", ""},
		{"trigger a string", `{"id":"x","enabled":true,"redirectTrigger":"ALWAYS"}`, "field redirectTrigger", ""},
		{"destination an array", `{"id":"x","enabled":true,"redirectDestination":[]}`, "redirect destination", ""},
		{"mailboxId an object", `{"id":"x","enabled":true,"redirectDestination":{"mailboxId":{}}}`, "mailboxId", ""},
		{"not an object", `["x"]`, "not a JSON object", ""},
		{"trailing data", `{"id":"x","enabled":true} {}`, "data after the object", ""},
		{"truncated", `{"id":"x","enabled":true`, "decode redirect", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decodeRedirect([]byte(tt.json))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || r.String() != tt.want {
				t.Fatalf("got %q, %v; want %q", r, err, tt.want)
			}
		})
	}
}

func TestDecodeRedirects(t *testing.T) {
	for _, tt := range []struct{ json, err string }{
		{`[]`, ""},
		{`[{"id":"a","enabled":true},{"id":"b","enabled":false}]`, ""},
		{`null`, "answer is null"},
		{``, "empty answer"},
		{`{"id":"a","enabled":true}`, "decode answer"},
		{`[{"id":"a","enabled":true},null]`, "redirect 2 of 2 is null"},
		{`[{"id":"a","enabled":true},{"enabled":true}]`, "redirect 2 of 2: the redirect has no id"},
	} {
		_, err := decodeRedirects([]byte(tt.json))
		if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err = %v, want %q", tt.json, err, tt.err)
		}
	}
}

func TestDestinationEqual(t *testing.T) {
	read := func(s string) Destination {
		d, err := parseDestination([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name string
		a, b Destination
		want bool
	}{
		{"same box", MailboxDestination(5), read(`{"redirectDestinationType":"MAILBOX","mailboxId":"5","x":1}`), true},
		{"box as a number", MailboxDestination(5), read(`{"redirectDestinationType":"MAILBOX","mailboxId":5}`), true},
		{"other box", MailboxDestination(5), MailboxDestination(6), false},
		{"same number, spaces around", PhoneNumberDestination("0049301"), read(`{"redirectDestinationType":"PHONENUMBER","phoneNumber":" 0049301 "}`), true},
		{"other number", PhoneNumberDestination("0049301"), PhoneNumberDestination("+49301"), false},
		{"box and number", MailboxDestination(5), PhoneNumberDestination("5"), false},
		{"unknown kinds, same JSON", read(`{"redirectDestinationType":"USER","userId":3}`), read(`{ "redirectDestinationType" : "USER", "userId" : 3 }`), true},
		{"unknown kinds, other JSON", read(`{"redirectDestinationType":"USER","userId":3}`), read(`{"redirectDestinationType":"USER","userId":4}`), false},
		{"none and none", Destination{}, read(`null`), true},
		{"none and a number", Destination{}, PhoneNumberDestination(""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a.Equal(tt.b) != tt.want || tt.b.Equal(tt.a) != tt.want {
				t.Errorf("%v.Equal(%v) = %t, want %t", tt.a, tt.b, tt.a.Equal(tt.b), tt.want)
			}
		})
	}
}

// A Redirect round-trips through JSON (the state file keeps the object as it was before).
func TestRedirectJSONRoundTrip(t *testing.T) {
	r, err := decodeRedirect([]byte(servedRedirect))
	if err != nil {
		t.Fatal(err)
	}
	type saved struct {
		Before Redirect    `json:"before"`
		Dest   Destination `json:"dest"`
		None   Redirect    `json:"none"`
	}
	b, err := json.Marshal(saved{Before: r, Dest: r.Destination()})
	if err != nil {
		t.Fatal(err)
	}
	var got saved
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// encoding/json compacts what MarshalJSON writes and escapes <, > and &: the same JSON
	// values, not the same bytes.
	want, _ := r.MarshalJSON()
	back, _ := got.Before.MarshalJSON()
	if !sameJSON(back, want) || !got.Dest.Equal(r.Destination()) || got.None.members != nil {
		t.Errorf("round trip:\n%s\n%s\n%+v", back, want, got)
	}
	// The destination kept in a file is written back as it was read, unknown fields included.
	restored := got.Before.WithTarget(true, MailboxDestination(5)).WithTarget(false, got.Dest)
	out, _ := restored.MarshalJSON()
	var m struct {
		Dest struct{ Label string } `json:"redirectDestination"`
	}
	if json.Unmarshal(out, &m) != nil || m.Dest.Label != "<Büro & Co>" || !sameJSON(out, want) {
		t.Errorf("restored from the file: %s", out)
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func TestDecodeVoicemailBoxNeverQuotesThePassword(t *testing.T) {
	const pin = "pin\\qX-77"
	for _, body := range []string{
		`{"id":1,"password":"` + pin + `","voicemailUsers":[]}`, // an invalid escape in the password
		`{"id":1,"password":"pin-77","voicemailUsers":"` + pin + `"}`,
		`{"id":"pin-77","password":"pin-77"}`,
		`{"password":"pin-77"}`,
		`{"id":1,"password":"pin-77"`,
	} {
		box, err := decodeVoicemailBox([]byte(body))
		if err == nil {
			t.Errorf("%s decoded as %+v", body, box)
			continue
		}
		if strings.Contains(err.Error(), "pin") || strings.Contains(err.Error(), "77") || strings.Contains(err.Error(), "X") {
			t.Errorf("%s: error %q quotes the answer", body, err)
		}
	}
}
