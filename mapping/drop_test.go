package mapping

import (
	"fmt"
	"strings"
	"testing"
)

func TestDropGuard(t *testing.T) {
	matched := func(n int) []Match {
		out := make([]Match, n)
		for i := range out {
			out[i] = Match{Login: fmt.Sprintf("%04d", i+2), Status: StatusMatched, EntraID: fmt.Sprintf("e-%d", i)}
		}
		return out
	}
	with := func(ms []Match, from, to int, s Status) []Match {
		out := append([]Match(nil), ms...)
		for i := from; i < to; i++ {
			out[i].Status, out[i].EntraID = s, ""
		}
		return out
	}
	pct := Users{MaxDrop: "10%"}
	for _, tc := range []struct {
		name     string
		u        Users
		old, now []Match
		held     bool
		why      string
	}{
		{"nobody dropped", pct, matched(100), matched(100), false, ""},
		{"ten of a hundred leave: within 10%", pct, matched(100), with(matched(100), 0, 10, StatusUnmatched), false, ""},
		{"eleven of a hundred leave: held", pct, matched(100), with(matched(100), 0, 11, StatusUnmatched), true, "11 unmatched"},
		{"a small site may lose five at once", pct, matched(20), with(matched(20), 0, 5, StatusDisabled), false, ""},
		{"six of twenty: held", pct, matched(20), with(matched(20), 0, 6, StatusDisabled), true, "6 disabled"},
		{"users gone from STARFACE count too", Users{MaxDrop: "2"}, matched(10), matched(7), true, "3 no longer in scope on STARFACE"},
		{"an emptied Entra answer says so", pct, matched(100), with(matched(100), 0, 100, StatusUnmatched), true, "Entra returned no users at all"},
		{"users new in the match do not offset the dropped", Users{MaxDrop: "0"}, matched(3), append(with(matched(3), 0, 1, StatusAmbiguous), Match{Login: "9999", Status: StatusMatched}), true, "1 ambiguous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.u.DropGuard(tc.old, tc.now)
			if (got != nil) != tc.held {
				t.Fatalf("DropGuard held = %v, want %t", got, tc.held)
			}
			if got != nil && !strings.Contains(got.Error(), tc.why) {
				t.Errorf("message %q does not say %q", got.Error(), tc.why)
			}
		})
	}
}
