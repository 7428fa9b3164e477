package mapping

import (
	"fmt"
	"strings"
)

// Find resolves the users a command was asked about (presence get's USER arguments) against a
// match: each may be a STARFACE login, an e-mail address, a UPN or an Entra object id, compared
// case-insensitively but for the login. No arguments means every matched user. A user named
// twice (by login and by address, say) is found once, in the place first named. Arguments that
// name nobody matched come back as problems, one line each, so that the others can still be
// shown.
func Find(matches []Match, args []string) (found []Match, problems []string) {
	if len(args) == 0 {
		for _, m := range matches {
			if m.Status == StatusMatched {
				found = append(found, m)
			}
		}
		return found, nil
	}
	seen := map[string]bool{}
	for _, a := range args {
		key := strings.TrimSpace(a)
		var m *Match
		for i := range matches {
			c := &matches[i]
			if c.Login == key || strings.EqualFold(c.Email, key) || strings.EqualFold(c.UPN, key) || strings.EqualFold(c.EntraID, key) {
				m = c
				break
			}
		}
		switch {
		case m == nil:
			problems = append(problems, fmt.Sprintf("user %q: no STARFACE user in scope with that login, e-mail, UPN or Entra id", a))
		case m.Status != StatusMatched:
			reason := m.Reason
			if reason == "" {
				reason = "-"
			}
			problems = append(problems, fmt.Sprintf("user %q (STARFACE %s) is %s: %s", a, m.Login, m.Status, reason))
		case seen[m.Login]:
		default:
			seen[m.Login] = true
			found = append(found, *m)
		}
	}
	return found, problems
}
