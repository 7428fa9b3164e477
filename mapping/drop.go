package mapping

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DropError is a refreshed user match held back because it would drop too many of the users
// matched before (DESIGN.md rule 8): one bad directory answer (an emptied group, a lost
// permission, a page that came back empty) must not release and forget everyone in one pass.
type DropError struct {
	Dropped, Before, Limit int
	MaxDrop                string
	// Why counts the dropped users by what the new match says of them.
	Why map[string]int
	// Entra is how many Entra users the new match was made with.
	Entra int
}

func (e *DropError) Error() string {
	var why []string
	for _, k := range slices.Sorted(maps.Keys(e.Why)) {
		why = append(why, fmt.Sprintf("%d %s", e.Why[k], k))
	}
	hint := ""
	if e.Entra == 0 {
		hint = "; Entra returned no users at all (an emptied group, or a lost permission such as User.Read.All or GroupMember.Read.All?)"
	}
	users := fmt.Sprintf("%d users", e.Before)
	if e.Before == 1 {
		users = "1 user"
	}
	return fmt.Sprintf("the refreshed user match would drop %d of %s (%s; users.max_drop %s allows %d)%s: "+
		"kept the old match; if the change is intended, run once with --accept-drop",
		e.Dropped, users, strings.Join(why, ", "), e.MaxDrop, e.Limit, hint)
}

// DropGuard compares a refreshed match with the one before and returns a *DropError when it
// drops more of the users matched before than users.max_drop allows; nil lets it apply.
func (u Users) DropGuard(old, now []Match) *DropError {
	status := make(map[string]Status, len(now))
	for _, m := range now {
		status[m.Login] = m.Status
	}
	e := &DropError{MaxDrop: u.MaxDrop, Why: map[string]int{}}
	for _, m := range old {
		if m.Status != StatusMatched {
			continue
		}
		e.Before++
		switch s, ok := status[m.Login]; {
		case !ok:
			e.Dropped++
			e.Why["no longer in scope on STARFACE"]++
		case s != StatusMatched:
			e.Dropped++
			e.Why[string(s)]++
		}
	}
	e.Limit = u.DropLimit(e.Before)
	if e.Dropped <= e.Limit {
		return nil
	}
	for _, m := range now {
		if m.EntraID != "" {
			e.Entra++
		}
	}
	return e
}
