package cmd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

func entraID(n int) string { return fmt.Sprintf("eeeeeeee-0000-4000-8000-%012d", n) }

// companyHarness builds a company with one STARFACE user per matching outcome.
func companyHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, 0, "")
	sf := func(id int, email string) {
		h.ss.AddUser(starfacetest.User{ID: id, Login: fmt.Sprintf("%04d", id), Password: "x",
			FirstName: "User", FamilyName: fmt.Sprintf("%04d", id), Email: email})
	}
	entra := func(n int, mail, upn string, enabled bool, proxies ...string) {
		h.gs.AddUser(graphtest.User{ID: entraID(n), DisplayName: upn, Mail: mail, UserPrincipalName: upn,
			ProxyAddresses: proxies, AccountEnabled: enabled, Availability: "Available", Activity: "Available"})
	}
	sf(2, "anna@contoso.example") // by mail
	entra(2, "Anna@Contoso.example", "anna@contoso.example", true)
	sf(3, " bob.alias@contoso.example ") // by alias; STARFACE's spaces are trimmed
	entra(3, "bob@contoso.example", "bob@contoso.example", true, "SMTP:bob@contoso.example", "smtp:bob.alias@contoso.example", "SIP:bob.sip@contoso.example")
	sf(4, "carl@contoso.example") // by upn: his mail is another address
	entra(4, "carl.mail@contoso.example", "carl@contoso.example", true)
	sf(5, "frontdesk@contoso.example") // by override: a shared mailbox address
	entra(5, "dora@contoso.example", "dora@contoso.example", true)
	sf(6, "")                       // unmatched: no e-mail on STARFACE
	sf(7, "nobody@contoso.example") // unmatched: no Entra user
	sf(8, "team@contoso.example")   // ambiguous: 8 and 9 share an address
	sf(9, "TEAM@contoso.example")   //
	entra(9, "team@contoso.example", "team@contoso.example", true)
	sf(10, "emil@contoso.example") // disabled in Entra
	entra(10, "emil@contoso.example", "emil@contoso.example", false)
	sf(11, "fritz@contoso.example") // excluded
	entra(11, "fritz@contoso.example", "fritz@contoso.example", true)
	h.configure(cfgOpts{exclude: []string{"0001", "0011"}, users: "  overrides: {\"0005\": dora@contoso.example}\n"})
	return h
}

func rowsByLogin(rows []matchRow) map[string]matchRow {
	m := map[string]matchRow{}
	for _, r := range rows {
		m[r.Login] = r
	}
	return m
}

func TestUsersMatchJSON(t *testing.T) {
	t.Parallel()
	h := companyHarness(t)
	out, errs := h.mustRun(ExitOK, "users", "match", "-o", "json")

	// The field names are the stable interface.
	for _, r := range decodeJSON[[]map[string]any](t, out) {
		if len(r) != 8 {
			t.Errorf("row %v has %d fields, want the 8 stable ones", r["login"], len(r))
		}
		for _, k := range []string{"login", "name", "email", "status", "basis", "reason", "entra_id", "upn"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["login"], k)
			}
		}
	}
	rows := decodeJSON[[]matchRow](t, out)
	want := []struct {
		row    matchRow
		reason string // a part of the reason
	}{
		{matchRow{Login: "0001", Name: "PBX Admin", Status: "excluded"}, "users.exclude"},
		{matchRow{Login: "0002", Name: "User 0002", Email: "anna@contoso.example", Status: "matched", Basis: "mail", EntraID: entraID(2), UPN: "anna@contoso.example"}, ""},
		{matchRow{Login: "0003", Name: "User 0003", Email: "bob.alias@contoso.example", Status: "matched", Basis: "alias", EntraID: entraID(3), UPN: "bob@contoso.example"}, ""},
		{matchRow{Login: "0004", Name: "User 0004", Email: "carl@contoso.example", Status: "matched", Basis: "upn", EntraID: entraID(4), UPN: "carl@contoso.example"}, ""},
		{matchRow{Login: "0005", Name: "User 0005", Email: "frontdesk@contoso.example", Status: "matched", Basis: "override", EntraID: entraID(5), UPN: "dora@contoso.example"}, "users.overrides"},
		{matchRow{Login: "0006", Name: "User 0006", Status: "unmatched"}, "no e-mail"},
		{matchRow{Login: "0007", Name: "User 0007", Email: "nobody@contoso.example", Status: "unmatched"}, "no Entra user"},
		{matchRow{Login: "0008", Name: "User 0008", Email: "team@contoso.example", Status: "ambiguous"}, "0008, 0009"},
		{matchRow{Login: "0009", Name: "User 0009", Email: "TEAM@contoso.example", Status: "ambiguous"}, "0008, 0009"},
		{matchRow{Login: "0010", Name: "User 0010", Email: "emil@contoso.example", Status: "disabled", Basis: "mail", EntraID: entraID(10), UPN: "emil@contoso.example"}, "disabled"},
		{matchRow{Login: "0011", Name: "User 0011", Email: "fritz@contoso.example", Status: "excluded"}, "users.exclude"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%s", len(rows), len(want), out)
	}
	for i, w := range want {
		g := rows[i]
		reason := g.Reason
		g.Reason = ""
		if g != w.row {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w.row)
		}
		if w.reason != "" && !strings.Contains(reason, w.reason) {
			t.Errorf("%s: reason %q lacks %q", w.row.Login, reason, w.reason)
		}
		if w.row.Status != "matched" && reason == "" {
			t.Errorf("%s is %s without a reason", w.row.Login, w.row.Status)
		}
	}
	if want := "4 matched, 2 unmatched, 2 ambiguous, 1 disabled, 2 excluded"; !strings.Contains(errs, want) {
		t.Errorf("stderr lacks the summary %q:\n%s", want, errs)
	}
	if strings.Contains(out, "matched,") {
		t.Error("the summary went to stdout")
	}
}

func TestUsersMatchTable(t *testing.T) {
	t.Parallel()
	h := companyHarness(t)
	out, _ := h.mustRun(ExitOK, "users", "match")
	for _, want := range []string{"LOGIN", "STATUS", "ENTRA UPN", "0003", "alias", "bob@contoso.example", "no e-mail on STARFACE"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestUsersMatchUnmatchedAndFailOnUnmatched(t *testing.T) {
	t.Parallel()
	h := companyHarness(t)
	out, errs := h.mustRun(ExitOK, "users", "match", "--unmatched", "-o", "json")
	rows := rowsByLogin(decodeJSON[[]matchRow](t, out))
	for _, l := range []string{"0002", "0003", "0004", "0005"} {
		if _, ok := rows[l]; ok {
			t.Errorf("--unmatched lists matched user %s", l)
		}
	}
	for _, l := range []string{"0006", "0007", "0008", "0009", "0010"} {
		if _, ok := rows[l]; !ok {
			t.Errorf("--unmatched lacks %s", l)
		}
	}
	if !strings.Contains(errs, "4 matched, 2 unmatched") {
		t.Errorf("the summary still counts everyone; stderr:\n%s", errs)
	}

	out, errs = h.mustRun(ExitPartial, "users", "match", "--fail-on-unmatched", "-o", "json")
	if len(decodeJSON[[]matchRow](t, out)) != 11 {
		t.Error("--fail-on-unmatched did not print the rows")
	}
	if !strings.Contains(errs, "4 users in scope are unmatched or ambiguous") {
		t.Errorf("stderr:\n%s", errs)
	}

	// Fixing the config (the address owners settled, the unknown users excluded) makes it pass;
	// a disabled Entra account is not a configuration problem.
	h.configure(cfgOpts{exclude: []string{"0001", "0006", "0007", "0009", "0011"},
		users: "  overrides: {\"0005\": dora@contoso.example, \"0008\": " + entraID(9) + "}\n"})
	_, errs = h.mustRun(ExitOK, "users", "match", "--fail-on-unmatched")
	if !strings.Contains(errs, "5 matched, 0 unmatched, 0 ambiguous, 1 disabled, 5 excluded") {
		t.Errorf("stderr:\n%s", errs)
	}
}

func TestUsersMatchStarfaceGroupRestrictsScope(t *testing.T) {
	t.Parallel()
	h := companyHarness(t)
	h.ss.AddGroup(7, "Sales", 2, 6, 10)
	h.configure(cfgOpts{exclude: []string{"0001", "0011"}, starface: "  group: Sales\n"})
	out, errs := h.mustRun(ExitOK, "users", "match", "-o", "json")
	var got []string
	for _, r := range decodeJSON[[]matchRow](t, out) {
		got = append(got, r.Login+"="+r.Status)
	}
	if strings.Join(got, " ") != "0002=matched 0006=unmatched 0010=disabled" {
		t.Errorf("rows = %v, want only the group's members", got)
	}
	if !strings.Contains(errs, "1 matched, 1 unmatched, 0 ambiguous, 1 disabled, 0 excluded") {
		t.Errorf("stderr:\n%s", errs)
	}

	h.configure(cfgOpts{starface: "  group: Marketing\n"})
	_, errs = h.mustRun(ExitUsage, "users", "match")
	if !strings.Contains(errs, "Marketing") || !strings.Contains(errs, "Sales") {
		t.Errorf("an unknown group's error does not list the groups:\n%s", errs)
	}
}

func TestUsersMatchEntraGroupUsesTransitiveMembers(t *testing.T) {
	t.Parallel()
	h := companyHarness(t)
	h.gs.RegisterApp(graphtest.App{Tenant: testTenant, ClientID: testClientID, ClientSecret: testSecret,
		Roles: []string{"Presence.Read.All", "User.Read.All", "GroupMember.Read.All"}})
	const inner = "bbbbbbbb-0000-4000-8000-000000000002"
	h.gs.AddGroup(inner, entraID(3))              // bob, only through the nested group
	h.gs.AddGroup(testGroupID, entraID(2), inner) // anna directly
	h.configure(cfgOpts{exclude: []string{"0001", "0011"}, microsoft: "  group: " + testGroupID + "\n"})
	out, _ := h.mustRun(ExitOK, "users", "match", "-o", "json")
	rows := rowsByLogin(decodeJSON[[]matchRow](t, out))
	for l, want := range map[string]string{"0002": "matched", "0003": "matched", "0004": "unmatched", "0010": "unmatched"} {
		if rows[l].Status != want {
			t.Errorf("%s: %s (%s), want %s", l, rows[l].Status, rows[l].Reason, want)
		}
	}
	if n := h.gs.CountRequests("GET", "/v1.0/groups/"+testGroupID+"/transitiveMembers"); n != 1 {
		t.Errorf("transitive member requests = %d, want 1", n)
	}
	if n := h.gs.CountRequests("GET", "/v1.0/users"); n != 0 {
		t.Errorf("listed all Entra users (%d requests) although a group is set", n)
	}
}

func TestUsersMatchThousandsOfUsers(t *testing.T) {
	t.Parallel()
	const n = 1200
	h := newHarness(t, n, "")
	out, errs := h.mustRun(ExitOK, "users", "match", "-o", "json", "--fail-on-unmatched")
	rows := decodeJSON[[]matchRow](t, out)
	if len(rows) != n+1 {
		t.Fatalf("%d rows, want %d", len(rows), n+1)
	}
	for _, r := range rows[1:] {
		if r.Status != "matched" || r.Basis != "mail" || r.EntraID == "" {
			t.Fatalf("row %+v not matched by mail", r)
		}
	}
	if want := fmt.Sprintf("%d matched, 0 unmatched, 0 ambiguous, 0 disabled, 1 excluded", n); !strings.Contains(errs, want) {
		t.Errorf("stderr lacks %q:\n%s", want, errs)
	}
	// $top is at most 999: two pages.
	if got := h.gs.CountRequests("GET", "/v1.0/users"); got != 2 {
		t.Errorf("user list requests = %d, want 2 pages", got)
	}
}
