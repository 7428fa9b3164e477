package starface

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// Fuzz tests of the decoders of STARFACE's answers. Their seeds live in
// testdata/fuzz/FuzzXxx/ and run in every `go test`; `go test -fuzz FuzzXxx -fuzztime 60s`
// explores further. Each target checks properties, not only the absence of a panic.

// FuzzUsers: a list decodes to users that survive a round trip through the wire shape.
func FuzzUsers(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		users, err := decodeUsers(b)
		if err != nil {
			if users != nil {
				t.Fatal("users returned with an error")
			}
			return
		}
		wire := make([]map[string]any, len(users))
		for i, u := range users {
			wire[i] = map[string]any{"id": u.ID, "login": u.Login, "email": u.Email, "firstName": u.FirstName, "familyName": u.FamilyName}
		}
		enc, err := json.Marshal(wire)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeUsers(enc)
		if err != nil || !reflect.DeepEqual(again, users) {
			t.Fatalf("round trip: %v, %+v != %+v", err, again, users)
		}
	})
}

// FuzzGroups: a list decodes to groups; null and non-lists are refused.
func FuzzGroups(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		groups, err := decodeGroups(b)
		if err != nil {
			return
		}
		if trimmed := bytes.TrimSpace(b); len(trimmed) == 0 || trimmed[0] != '[' {
			t.Fatalf("%q decoded as a group list", b)
		}
		_ = groups
	})
}

// FuzzGroupDetail: the members are exactly the assigned ids, and a detail without
// assignableUsers never reads as an empty group.
func FuzzGroupDetail(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		members, err := decodeGroupMembers(b)
		if err != nil {
			return
		}
		if members == nil {
			t.Fatal("nil members without an error")
		}
		var raw struct {
			AssignableUsers []struct {
				ID       int  `json:"id"`
				Assigned bool `json:"assigned"`
			} `json:"assignableUsers"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("decoded by the client, refused by encoding/json: %v", err)
		}
		var want []int
		for _, u := range raw.AssignableUsers {
			if u.Assigned {
				want = append(want, u.ID)
			}
		}
		if len(want) != len(members) || (len(want) > 0 && !reflect.DeepEqual(want, members)) {
			t.Fatalf("members %v, want %v", members, want)
		}
	})
}

// FuzzPhoneConfig: what decodes encodes to a JSON object with the four fields, and decoding
// that encoding gives the same encoding again (a read-modify-write changes nothing else).
func FuzzPhoneConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		pc, err := decodePhoneConfig(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(pc)
		if err != nil {
			t.Fatalf("decoded config does not encode: %v", err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(enc, &m); err != nil {
			t.Fatalf("encoding is not a JSON object: %s", enc)
		}
		for _, k := range phoneConfigKeys {
			if _, ok := m[k]; !ok {
				t.Fatalf("encoding %s lacks %s", enc, k)
			}
		}
		pc2, err := decodePhoneConfig(enc)
		if err != nil {
			t.Fatalf("own encoding %s does not decode: %v", enc, err)
		}
		enc2, _ := json.Marshal(pc2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the config:\n%s\n%s", enc, enc2)
		}
		if pc2.String() != pc.String() {
			t.Fatalf("round trip changed the fields: %v → %v", pc, pc2)
		}
	})
}

// FuzzLoginTemplate: a template decodes to a nonce, or is refused.
func FuzzLoginTemplate(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		_, nonce, err := decodeLoginTemplate(b)
		if err == nil && nonce == "" {
			t.Fatal("empty nonce accepted")
		}
	})
}

// FuzzAuthToken: an answer decodes to a token, or is refused.
func FuzzAuthToken(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := decodeAuthToken(b)
		if err == nil && tok == "" {
			t.Fatal("empty token accepted")
		}
	})
}

// FuzzErrorBody: any body (JSON, HTML from a proxy, nothing) makes an error whose text is one
// line, valid UTF-8 when the body was, bounded in length, and never more of the body than the
// JSON's code and message.
func FuzzErrorBody(f *testing.F) {
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		e := newError(status, "GET", "/rest/users", b)
		msg := e.Error()
		if utf8.Valid(b) && !utf8.ValidString(msg) {
			t.Fatalf("error text %q is not valid UTF-8", msg)
		}
		if strings.IndexFunc(msg, unicode.IsControl) >= 0 {
			t.Fatalf("error text %q is not one line", msg)
		}
		if len(e.Message) > maxMessage+len("...") || len(e.Code) > maxCode+len("...") {
			t.Fatalf("message of %d bytes, code of %d", len(e.Message), len(e.Code))
		}
		if e.Message != "" && !strings.HasPrefix(oneLine(jsonMessage(b)), strings.TrimSuffix(e.Message, "...")) {
			t.Fatalf("message %q is not the body's message", e.Message)
		}
	})
}

func jsonMessage(b []byte) string {
	var m struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &m)
	return m.Message
}

// FuzzDiscovery: a document decodes to an absolute http(s) token endpoint, or is refused.
func FuzzDiscovery(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeDiscovery(b)
		if err != nil {
			return
		}
		u, perr := url.Parse(d.TokenEndpoint)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			t.Fatalf("token endpoint %q accepted", d.TokenEndpoint)
		}
	})
}

// FuzzTokenAnswer: an answer decodes to a Bearer access token usable as a header value, with
// a positive lifetime, or is refused.
func FuzzTokenAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := decodeTokenAnswer(b)
		if err != nil {
			return
		}
		if a.AccessToken == "" || strings.ContainsAny(a.AccessToken, "\r\n") || a.expiresIn() <= 0 || a.expiresIn() > 24*time.Hour {
			t.Fatalf("accepted %+v (lifetime %v)", a, a.expiresIn())
		}
		if a.TokenType != "" && !strings.EqualFold(a.TokenType, "bearer") {
			t.Fatalf("token type %q accepted", a.TokenType)
		}
	})
}

// FuzzOAuthError: any refusal makes an error of one line that never shows the password or the
// secret, even when the realm echoes them.
func FuzzOAuthError(f *testing.F) {
	const pw, secret = "pw-Ä1!", "s3cr3t"
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		e := decodeOAuthError(status, b, pw, secret)
		msg := e.Error()
		if strings.IndexFunc(msg, unicode.IsControl) >= 0 {
			t.Fatalf("error text %q is not one line", msg)
		}
		if strings.Contains(msg, pw) || strings.Contains(msg, secret) {
			t.Fatalf("error text %q shows a secret", msg)
		}
		if utf8.Valid(b) && !utf8.ValidString(msg) {
			t.Fatalf("error text %q is not valid UTF-8", msg)
		}
	})
}

// FuzzRights: a permission list decodes to non-empty one-line names, or is refused.
func FuzzRights(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		rights, err := decodeRights(b)
		if err != nil {
			return
		}
		for _, r := range rights {
			if r == "" || strings.IndexFunc(r, unicode.IsControl) >= 0 {
				t.Fatalf("right %q accepted", r)
			}
		}
	})
}

// FuzzRedirect: a redirect that decodes writes itself back as read (a fixed point), and
// WithTarget changes enabled and redirectDestination and nothing else: every other member keeps
// its key, its place and its bytes, and putting back what was read restores the object.
func FuzzRedirect(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte, enabled bool, boxID int) {
		r, err := decodeRedirect(b)
		if err != nil {
			return
		}
		enc, err := r.MarshalJSON()
		if err != nil || !json.Valid(enc) {
			t.Fatalf("decoded redirect writes %q, %v", enc, err)
		}
		again, err := decodeRedirect(enc)
		if err != nil || again.ID() != r.ID() || again.Enabled() != r.Enabled() || again.PhoneNumber() != r.PhoneNumber() ||
			again.GroupNumber() != r.GroupNumber() || again.Trigger() != r.Trigger() || !again.Destination().Equal(r.Destination()) {
			t.Fatalf("%s decodes as %v, %v; want %v", enc, again, err, r)
		}
		if enc2, _ := again.MarshalJSON(); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%s\n%s", enc, enc2)
		}

		target := MailboxDestination(boxID)
		w := r.WithTarget(enabled, target)
		wenc, _ := w.MarshalJSON()
		got, err := decodeRedirect(wenc)
		if err != nil || !got.Shows(enabled, target) || !w.Shows(enabled, target) || got.ID() != r.ID() || got.Trigger() != r.Trigger() {
			t.Fatalf("WithTarget(%t, %v) wrote %s: %v, %v", enabled, target, wenc, got, err)
		}
		before, _ := objectMembers(enc)
		after, _ := objectMembers(wenc)
		if len(before) != len(after) && len(after) != len(before)+1 {
			t.Fatalf("WithTarget changed the members: %s → %s", enc, wenc)
		}
		for i, m := range before {
			if after[i].key != m.key || (m.key != "enabled" && m.key != "redirectDestination" && after[i].raw != m.raw) {
				t.Fatalf("member %d: %s=%s became %s=%s", i, m.key, m.raw, after[i].key, after[i].raw)
			}
		}

		back := w.WithTarget(r.Enabled(), r.Destination())
		if !r.Destination().IsZero() && !back.SameTarget(r) {
			t.Fatalf("put back: %v, want the target of %v", back, r)
		}
		benc, _ := back.MarshalJSON()
		if !r.Destination().IsZero() && !hasDuplicateKeys(before) && !bytes.Equal(benc, enc) {
			t.Fatalf("put back as read, the object changed:\n%s\n%s", enc, benc)
		}
	})
}

func hasDuplicateKeys(ms []member) bool {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.key] {
			return true
		}
		seen[m.key] = true
	}
	return false
}

// FuzzVoicemailBox: the password has no part in what decoding a box's detail gives. Changing
// the password's value changes neither the box nor the error; an answer that is not valid JSON
// (the password may be what breaks it) gets an error of fixed words.
func FuzzVoicemailBox(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := decodeVoicemailBox(b)
		if !json.Valid(b) {
			if err == nil || (err.Error() != "decode answer: not a voicemail box object" && err.Error() != "empty answer") {
				t.Fatalf("invalid JSON %q: error %v", b, err)
			}
			return
		}
		members, merr := objectMembers(b)
		if merr != nil {
			return
		}
		rebuild := func(pw string) []byte {
			ms := append([]member(nil), members...)
			for i := range ms {
				if strings.EqualFold(ms[i].key, "password") {
					ms[i].raw = pw
				}
			}
			out, _ := Redirect{members: ms}.MarshalJSON()
			return out
		}
		box1, err1 := decodeVoicemailBox(rebuild(`"one secret"`))
		box2, err2 := decodeVoicemailBox(rebuild(`"another"`))
		if !reflect.DeepEqual(box1, box2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("the password changes the result: %+v, %v / %+v, %v", box1, err1, box2, err2)
		}
	})
}
