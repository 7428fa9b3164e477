package mapping

import (
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	ms := []Match{
		{Login: "0002", Email: "alice@contoso.com", UPN: "alice@contoso.com", EntraID: "AAAA-1", Status: StatusMatched},
		{Login: "0003", Email: "bob@contoso.com", UPN: "bob@contoso.onmicrosoft.com", EntraID: "bbbb-2", Status: StatusMatched},
		{Login: "0004", Email: "", Status: StatusUnmatched, Reason: "no e-mail address on STARFACE"},
		{Login: "0001", Status: StatusExcluded},
	}
	for _, tc := range []struct {
		name     string
		args     []string
		found    []string
		problems []string
	}{
		{"no arguments: every matched user", nil, []string{"0002", "0003"}, nil},
		{"by login", []string{"0003"}, []string{"0003"}, nil},
		{"by e-mail in another case", []string{"ALICE@contoso.com"}, []string{"0002"}, nil},
		{"by UPN", []string{"bob@contoso.onmicrosoft.com"}, []string{"0003"}, nil},
		{"by Entra id, any case", []string{"aaaa-1"}, []string{"0002"}, nil},
		{"named twice: shown once", []string{"0002", "alice@contoso.com", "0002"}, []string{"0002"}, nil},
		{"in the order asked", []string{"0003", "0002"}, []string{"0003", "0002"}, nil},
		{"unknown", []string{"9999"}, nil, []string{`user "9999": no STARFACE user`}},
		{"not matched says why", []string{"0004"}, nil, []string{`is unmatched: no e-mail address`}},
		{"found and unknown together", []string{"0002", "nobody@x"}, []string{"0002"}, []string{`"nobody@x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			found, problems := Find(ms, tc.args)
			var logins []string
			for _, m := range found {
				logins = append(logins, m.Login)
			}
			if !slices.Equal(logins, tc.found) {
				t.Errorf("found %v, want %v", logins, tc.found)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d", problems, len(tc.problems))
			}
			for i, p := range tc.problems {
				if !strings.Contains(problems[i], p) {
					t.Errorf("problem %q does not say %q", problems[i], p)
				}
			}
		})
	}
}
