package mapping

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// StarfaceUser is a STARFACE user in scope (already restricted to starface.group).
type StarfaceUser struct {
	ID                 int
	Login, Name, Email string
}

// EntraUser is an Entra user as Graph lists it.
type EntraUser struct {
	ID, DisplayName, UPN, Mail string
	ProxyAddresses             []string // "SMTP:primary@x", "smtp:alias@x", other types ignored
	Enabled                    bool
}

// Status is how a STARFACE user fared in matching.
type Status string

const (
	StatusMatched   Status = "matched"
	StatusUnmatched Status = "unmatched"
	StatusAmbiguous Status = "ambiguous"
	StatusDisabled  Status = "disabled"
	StatusExcluded  Status = "excluded"
)

// Basis is the way a match was found: an override, or the Entra field that
// carried the STARFACE e-mail.
const (
	BasisOverride = "override"
	BasisMail     = "mail"
	BasisAlias    = "alias"
	BasisUPN      = "upn"
)

// Match is one STARFACE user's outcome. Only StatusMatched users take part in
// a pass. For disabled users EntraID, UPN and Basis are filled too, so the
// report can say who was found and how; for the other statuses they are empty.
type Match struct {
	Login      string
	StarfaceID int
	Name       string
	Email      string
	Status     Status
	Basis      string
	Reason     string
	EntraID    string
	UPN        string
}

// entraIndex finds Entra users by each field users.match may name, by
// lower-cased address, so matching is linear in the number of users.
type entraIndex struct {
	users   []EntraUser
	byField map[string]map[string][]int // users.match field → address → user indexes
	byID    map[string]int
}

var fieldBasis = map[string]string{"mail": BasisMail, "proxyAddresses": BasisAlias, "userPrincipalName": BasisUPN}

func normAddr(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func newEntraIndex(entra []EntraUser) *entraIndex {
	ix := &entraIndex{
		users: entra,
		byField: map[string]map[string][]int{
			"mail": {}, "proxyAddresses": {}, "userPrincipalName": {},
		},
		byID: make(map[string]int, len(entra)),
	}
	add := func(field, addr string, i int) {
		a := normAddr(addr)
		if a == "" {
			return
		}
		m := ix.byField[field]
		if l := m[a]; len(l) == 0 || l[len(l)-1] != i {
			m[a] = append(l, i)
		}
	}
	for i, u := range entra {
		ix.byID[strings.ToLower(u.ID)] = i
		add("mail", u.Mail, i)
		add("userPrincipalName", u.UPN, i)
		for _, pa := range u.ProxyAddresses {
			// Only SMTP addresses; the prefix is SMTP: for the primary and
			// smtp: for aliases. SIP:, X500: and the like are not e-mail.
			if len(pa) > 5 && strings.EqualFold(pa[:5], "smtp:") {
				add("proxyAddresses", pa[5:], i)
			}
		}
	}
	return ix
}

// override finds the Entra user an override names: object id, UPN or mail.
func (ix *entraIndex) override(to string) []int {
	if i, ok := ix.byID[strings.ToLower(strings.TrimSpace(to))]; ok {
		return []int{i}
	}
	a := normAddr(to)
	var found []int
	for _, f := range []string{"userPrincipalName", "mail"} {
		for _, i := range ix.byField[f][a] {
			if !slices.Contains(found, i) {
				found = append(found, i)
			}
		}
	}
	return found
}

func (ix *entraIndex) names(idx []int) string {
	n := make([]string, len(idx))
	for k, i := range idx {
		n[k] = ix.users[i].UPN
		if n[k] == "" {
			n[k] = ix.users[i].ID
		}
	}
	return strings.Join(n, " and ")
}

// MatchUsers pairs each STARFACE user with at most one Entra user, following
// DESIGN.md rule 1: excluded logins are left alone; overrides come first;
// otherwise the STARFACE e-mail is looked up in the users.match fields in
// order and the first field that finds someone decides. A STARFACE address
// shared by two users in scope, an address (or override) that names two Entra
// users, and an Entra user claimed by two STARFACE users are all ambiguous:
// none of those users is synced, since either side could then write for the
// other. The result is sorted by login.
func MatchUsers(sf []StarfaceUser, entra []EntraUser, u Users) []Match {
	ix := newEntraIndex(entra)
	excluded := make(map[string]bool, len(u.Exclude))
	for _, l := range u.Exclude {
		excluded[l] = true
	}
	fields := u.Match
	if len(fields) == 0 {
		fields = DefaultMatch()
	}

	// Who else in scope uses the same address. Overridden users don't count:
	// an override is how an administrator settles a shared mailbox.
	byEmail := map[string][]string{}
	for _, s := range sf {
		if excluded[s.Login] || hasOverride(u, s.Login) {
			continue
		}
		if a := normAddr(s.Email); a != "" {
			byEmail[a] = append(byEmail[a], s.Login)
		}
	}

	out := make([]Match, len(sf))
	target := map[int][]int{} // Entra user → indexes in out that matched it
	for k, s := range sf {
		m := Match{Login: s.Login, StarfaceID: s.ID, Name: s.Name, Email: strings.TrimSpace(s.Email)}
		entraIdx := matchOne(&m, s, u, ix, fields, excluded, byEmail)
		if entraIdx >= 0 {
			e := ix.users[entraIdx]
			m.EntraID, m.UPN = e.ID, e.UPN
			if !e.Enabled {
				m.Status, m.Reason = StatusDisabled, fmt.Sprintf("Entra user %s is disabled", e.UPN)
			} else {
				target[entraIdx] = append(target[entraIdx], k)
			}
		}
		out[k] = m
	}
	for entraIdx, ks := range target {
		if len(ks) < 2 {
			continue
		}
		logins := make([]string, len(ks))
		for i, k := range ks {
			logins[i] = out[k].Login
		}
		sort.Strings(logins)
		for _, k := range ks {
			m := &out[k]
			m.Status, m.Basis = StatusAmbiguous, ""
			m.Reason = fmt.Sprintf("Entra user %s is matched by STARFACE users %s", ix.users[entraIdx].UPN, strings.Join(logins, ", "))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Login < out[j].Login })
	return out
}

func hasOverride(u Users, login string) bool { _, ok := u.Overrides[login]; return ok }

// matchOne settles one user's status and returns the index of the Entra user
// found (-1 for none); status matched is set here and may still turn into
// disabled or ambiguous.
func matchOne(m *Match, s StarfaceUser, u Users, ix *entraIndex, fields []string, excluded map[string]bool, byEmail map[string][]string) int {
	if excluded[s.Login] {
		m.Status, m.Reason = StatusExcluded, "listed in users.exclude"
		return -1
	}
	if to, ok := u.Overrides[s.Login]; ok {
		found := ix.override(to)
		switch len(found) {
		case 0:
			m.Status, m.Reason = StatusUnmatched, fmt.Sprintf("override %q names no Entra user", to)
			return -1
		case 1:
			m.Status, m.Basis, m.Reason = StatusMatched, BasisOverride, "users.overrides: "+to
			return found[0]
		default:
			m.Status, m.Reason = StatusAmbiguous, fmt.Sprintf("override %q names %d Entra users: %s", to, len(found), ix.names(found))
			return -1
		}
	}
	addr := normAddr(s.Email)
	if addr == "" {
		m.Status, m.Reason = StatusUnmatched, "no e-mail on STARFACE"
		return -1
	}
	if others := byEmail[addr]; len(others) > 1 {
		m.Status, m.Reason = StatusAmbiguous, fmt.Sprintf("e-mail %s is shared by STARFACE users %s", addr, strings.Join(sortedCopy(others), ", "))
		return -1
	}
	for _, f := range fields {
		found := ix.byField[f][addr]
		switch {
		case len(found) == 1:
			m.Status, m.Basis, m.Reason = StatusMatched, fieldBasis[f], fmt.Sprintf("%s %s", f, addr)
			return found[0]
		case len(found) > 1:
			m.Status, m.Reason = StatusAmbiguous, fmt.Sprintf("address %s is the %s of %d Entra users: %s", addr, f, len(found), ix.names(found))
			return -1
		}
	}
	m.Status, m.Reason = StatusUnmatched, "no Entra user with address "+addr
	return -1
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// MatchSummary counts users per status.
type MatchSummary struct {
	Matched, Unmatched, Ambiguous, Disabled, Excluded int
}

// Summarize counts the outcomes of MatchUsers.
func Summarize(ms []Match) MatchSummary {
	var s MatchSummary
	for _, m := range ms {
		switch m.Status {
		case StatusMatched:
			s.Matched++
		case StatusUnmatched:
			s.Unmatched++
		case StatusAmbiguous:
			s.Ambiguous++
		case StatusDisabled:
			s.Disabled++
		case StatusExcluded:
			s.Excluded++
		}
	}
	return s
}

// String reads "812 matched, 3 unmatched, 1 ambiguous, 0 disabled, 2 excluded".
func (s MatchSummary) String() string {
	return fmt.Sprintf("%d matched, %d unmatched, %d ambiguous, %d disabled, %d excluded",
		s.Matched, s.Unmatched, s.Ambiguous, s.Disabled, s.Excluded)
}
