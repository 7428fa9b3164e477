package starface

import (
	"strings"
	"testing"
)

// The decoders refuse the shapes that would otherwise read as "no users" or "an empty
// group" and release everyone's DND, and accept what STARFACE sends.
func TestDecoders(t *testing.T) {
	tests := []struct {
		name    string
		decode  func([]byte) error
		in, err string // err "" = accepted
	}{
		{"users", wrap(decodeUsers), `[{"id":1,"login":"0001","x":true}]`, ""},
		{"users empty list", wrap(decodeUsers), `[]`, ""},
		{"users null", wrap(decodeUsers), `null`, "answer is null"},
		{"users empty body", wrap(decodeUsers), ` `, "empty answer"},
		{"user without id", wrap(decodeUsers), `[{"id":1},{"login":"0002"}]`, "user 2 of 2 has no id"},
		{"user null", wrap(decodeUsers), `[null]`, "user 1 of 1 has no id"},
		{"users object", wrap(decodeUsers), `{"id":1}`, "cannot unmarshal object"},
		{"groups null", wrap(decodeGroups), `null`, "answer is null"},
		{"group without id", wrap(decodeGroups), `[{"groupname":"a"}]`, "group 1 of 1 has no id"},
		{"group detail", wrap(decodeGroupMembers), `{"assignableUsers":[{"id":3,"assigned":true},{"id":4}]}`, ""},
		{"group detail empty", wrap(decodeGroupMembers), `{"assignableUsers":[]}`, ""},
		{"group detail without members", wrap(decodeGroupMembers), `{"id":5,"name":"x"}`, "no assignableUsers"},
		{"group detail members null", wrap(decodeGroupMembers), `{"assignableUsers":null}`, "no assignableUsers"},
		{"assignable user without id", wrap(decodeGroupMembers), `{"assignableUsers":[{"assigned":true}]}`, "has no id"},
		{"phone config null", wrap(decodePhoneConfig), `null`, "answer is null"},
		{"phone config", wrap(decodePhoneConfig), `{"doNotDisturb":true}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode([]byte(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

func wrap[T any](f func([]byte) (T, error)) func([]byte) error {
	return func(b []byte) error { _, err := f(b); return err }
}

// A PBX's message cannot forge a second log line, and a long one is cut at a character.
func TestErrorTextIsOneLine(t *testing.T) {
	e := newError(400, "PUT", "/rest/users/1/phoneconfig", []byte(`{"code":"E\n1","message":"bad\nlevel=ERROR msg=forged"}`))
	if got := e.Error(); got != "400 Bad Request: bad level=ERROR msg=forged (code E 1)" {
		t.Errorf("Error() = %q", got)
	}
	long := newError(500, "GET", "/rest/users", []byte(`{"message":"a`+strings.Repeat("ä", 200)+`"}`))
	if !strings.HasSuffix(long.Message, "ä...") || len(long.Message) != 299+3 {
		t.Errorf("truncated message ends %q (%d bytes)", long.Message[len(long.Message)-8:], len(long.Message))
	}
}
