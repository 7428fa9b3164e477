package mapping

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// yaml.v3 reports a syntax error at the line where the enclosing block starts (counted from 0),
// not where the problem is: a mis-indented line 13 of the example came out as line 9 or 10.
func TestSyntaxErrorNamesTheLineOfTheProblem(t *testing.T) {
	example, err := os.ReadFile("../mapping.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(example), "\n")
	if !strings.HasPrefix(lines[12], "  client_id:") {
		t.Fatalf("line 13 of mapping.example.yaml is %q; the test expects microsoft.client_id", lines[12])
	}
	with := func(n int, text string) []byte {
		l := append([]string{}, lines...)
		l[n-1] = text
		return []byte(strings.Join(l, "\n"))
	}
	for _, tc := range []struct {
		name string
		data []byte
		line int
		msg  string
	}{
		{"indented one space too little", with(13, " client_id: x"), 13, "did not find expected key"},
		{"indented one space too much", with(13, "   client_id: x"), 13, "did not find expected key"},
		{"indented two spaces too much", with(13, "    client_id: x"), 13, "did not find expected key"},
		{"a tab", with(13, "\tclient_id: x"), 13, "found character that cannot start any token"},
		{"unclosed flow list", []byte("users:\n  match: [mail\nstarface:\n  url: https://x\n"), 2, "invalid YAML"},
		{"unclosed quote", []byte("starface:\n  url: https://x\n  login: \"0001\n  group: a\n"), 3, "invalid YAML"},
		{"value after a value", []byte("a: 1\nb: 2: 3\n"), 2, "mapping values are not allowed"},
		// Cut inside the quoted string, the file fails too, but with another message.
		{"after a string over two lines", []byte("starface:\n  url: \"https://x\n    y\"\n  group: a\n   login: b\n"), 5, "mapping values are not allowed"},
		{"first line", []byte("a: [b\n"), 1, "invalid YAML"},
		{"mis-indented last line", []byte("starface:\n  url: https://x\n   login: a"), 3, "invalid YAML"},
	} {
		_, err := Parse(tc.data, "m.yaml")
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: want a ConfigError, got %v", tc.name, err)
			continue
		}
		if ce.Line != tc.line || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("%s: %v; want line %d and %q", tc.name, err, tc.line, tc.msg)
		}
	}
}
