package mapping

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
)

func entra(id, upn, mail string, enabled bool, proxies ...string) EntraUser {
	return EntraUser{ID: id, DisplayName: upn, UPN: upn, Mail: mail, ProxyAddresses: proxies, Enabled: enabled}
}

func TestMatchUsersOutcomes(t *testing.T) {
	ent := []EntraUser{
		entra("id-alice", "alice@contoso.com", "Alice@Contoso.com", true, "SMTP:alice@contoso.com", "smtp:a.smith@contoso.com"),
		entra("id-bob", "bob@contoso.onmicrosoft.com", "", true, "SIP:bob@contoso.com"),
		entra("id-carol", "carol@contoso.com", "carol@contoso.com", false),
		entra("id-dave", "dave@contoso.com", "dave@contoso.com", true),
		entra("id-erin", "erin@contoso.com", "erin@contoso.com", true, "smtp:sales@contoso.com"),
		entra("id-frank", "frank@contoso.com", "frank@contoso.com", true, "smtp:sales@contoso.com"),
		entra("id-gina", "gina@contoso.com", "gina@contoso.com", true, "SMTP:gina@contoso.com", "smtp:g@contoso.com"),
		entra("id-hank", "hank@contoso.com", "hank@contoso.com", true),
		entra("id-ivy", "ivy@contoso.com", "ivy@contoso.com", true),
	}
	sf := []StarfaceUser{
		{ID: 9, Login: "0009", Name: "Ivy", Email: "ivy@contoso.com"},
		{ID: 1, Login: "0001", Name: "Admin", Email: "admin@contoso.com"},
		{ID: 2, Login: "0002", Name: "Alice", Email: "  ALICE@contoso.com "},
		{ID: 3, Login: "0003", Name: "Alice Alias", Email: "a.smith@contoso.com"},
		{ID: 4, Login: "0004", Name: "Bob", Email: "bob@contoso.onmicrosoft.com"},
		{ID: 5, Login: "0005", Name: "Carol", Email: "carol@contoso.com"},
		{ID: 6, Login: "0006", Name: "No Mail", Email: " "},
		{ID: 7, Login: "0007", Name: "Shared 1", Email: "dave@contoso.com"},
		{ID: 8, Login: "0008", Name: "Shared 2", Email: "Dave@contoso.com"},
		{ID: 10, Login: "0010", Name: "Sales", Email: "sales@contoso.com"},
		{ID: 11, Login: "0011", Name: "Nobody", Email: "nobody@contoso.com"},
		{ID: 12, Login: "0012", Name: "Override", Email: "whatever@contoso.com"},
		{ID: 13, Login: "0013", Name: "Bad override", Email: "hank@contoso.com"},
		{ID: 14, Login: "0014", Name: "Excluded shared", Email: "ivy@contoso.com"},
		{ID: 15, Login: "0015", Name: "Override by id", Email: "dave@contoso.com"},
	}
	u := Users{
		Match:     DefaultMatch(),
		Exclude:   []string{"0001", "0014"},
		Overrides: map[string]string{"0012": "GINA@contoso.com", "0013": "ghost@contoso.com", "0015": "ID-HANK", "0001": "alice@contoso.com"},
	}
	got := MatchUsers(sf, ent, u)
	want := []Match{
		{Login: "0001", StarfaceID: 1, Name: "Admin", Email: "admin@contoso.com", Status: StatusExcluded, Reason: "listed in users.exclude"},
		// alice is claimed by 0002 (mail) and 0003 (alias): one Entra user, two phones.
		{Login: "0002", StarfaceID: 2, Name: "Alice", Email: "ALICE@contoso.com", Status: StatusAmbiguous, Reason: "Entra user alice@contoso.com is matched by STARFACE users 0002, 0003", EntraID: "id-alice", UPN: "alice@contoso.com"},
		{Login: "0003", StarfaceID: 3, Name: "Alice Alias", Email: "a.smith@contoso.com", Status: StatusAmbiguous, Reason: "Entra user alice@contoso.com is matched by STARFACE users 0002, 0003", EntraID: "id-alice", UPN: "alice@contoso.com"},
		{Login: "0004", StarfaceID: 4, Name: "Bob", Email: "bob@contoso.onmicrosoft.com", Status: StatusMatched, Basis: "upn", Reason: "userPrincipalName bob@contoso.onmicrosoft.com", EntraID: "id-bob", UPN: "bob@contoso.onmicrosoft.com"},
		{Login: "0005", StarfaceID: 5, Name: "Carol", Email: "carol@contoso.com", Status: StatusDisabled, Basis: "mail", Reason: "Entra user carol@contoso.com is disabled", EntraID: "id-carol", UPN: "carol@contoso.com"},
		{Login: "0006", StarfaceID: 6, Name: "No Mail", Email: "", Status: StatusUnmatched, Reason: "no e-mail on STARFACE"},
		{Login: "0007", StarfaceID: 7, Name: "Shared 1", Email: "dave@contoso.com", Status: StatusAmbiguous, Reason: "e-mail dave@contoso.com is shared by STARFACE users 0007, 0008"},
		{Login: "0008", StarfaceID: 8, Name: "Shared 2", Email: "Dave@contoso.com", Status: StatusAmbiguous, Reason: "e-mail dave@contoso.com is shared by STARFACE users 0007, 0008"},
		// 0014 shares ivy's address but is excluded, so not in scope.
		{Login: "0009", StarfaceID: 9, Name: "Ivy", Email: "ivy@contoso.com", Status: StatusMatched, Basis: "mail", Reason: "mail ivy@contoso.com", EntraID: "id-ivy", UPN: "ivy@contoso.com"},
		{Login: "0010", StarfaceID: 10, Name: "Sales", Email: "sales@contoso.com", Status: StatusAmbiguous, Reason: "address sales@contoso.com is the proxyAddresses of 2 Entra users: erin@contoso.com and frank@contoso.com"},
		{Login: "0011", StarfaceID: 11, Name: "Nobody", Email: "nobody@contoso.com", Status: StatusUnmatched, Reason: "no Entra user with address nobody@contoso.com"},
		{Login: "0012", StarfaceID: 12, Name: "Override", Email: "whatever@contoso.com", Status: StatusMatched, Basis: "override", Reason: "users.overrides: GINA@contoso.com", EntraID: "id-gina", UPN: "gina@contoso.com"},
		{Login: "0013", StarfaceID: 13, Name: "Bad override", Email: "hank@contoso.com", Status: StatusUnmatched, Reason: `override "ghost@contoso.com" names no Entra user`},
		{Login: "0014", StarfaceID: 14, Name: "Excluded shared", Email: "ivy@contoso.com", Status: StatusExcluded, Reason: "listed in users.exclude"},
		// An override settles a shared address: 0015 does not make 0007/0008's
		// address any less shared, and is matched through the object id.
		{Login: "0015", StarfaceID: 15, Name: "Override by id", Email: "dave@contoso.com", Status: StatusMatched, Basis: "override", Reason: "users.overrides: ID-HANK", EntraID: "id-hank", UPN: "hank@contoso.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if s := Summarize(got).String(); s != "4 matched, 3 unmatched, 5 ambiguous, 1 disabled, 2 excluded" {
		t.Errorf("summary %q", s)
	}
}

func TestMatchUsersFieldOrder(t *testing.T) {
	// gina's primary SMTP address equals her mail, and an alias of another
	// user equals someone's UPN.
	ent := []EntraUser{
		entra("id-gina", "gina@contoso.onmicrosoft.com", "gina@contoso.com", true, "SMTP:gina@contoso.com", "smtp:g@contoso.com"),
		entra("id-hal", "hal@contoso.com", "hal@contoso.com", true, "smtp:gina@contoso.onmicrosoft.com"),
	}
	tests := []struct {
		match      []string
		email      string
		basis, upn string
		status     Status
	}{
		{DefaultMatch(), "gina@contoso.com", "mail", "gina@contoso.onmicrosoft.com", StatusMatched},
		{[]string{"proxyAddresses", "mail"}, "gina@contoso.com", "alias", "gina@contoso.onmicrosoft.com", StatusMatched},
		{DefaultMatch(), "G@contoso.com", "alias", "gina@contoso.onmicrosoft.com", StatusMatched},
		// The first field that finds someone decides: hal's alias before gina's UPN.
		{DefaultMatch(), "gina@contoso.onmicrosoft.com", "alias", "hal@contoso.com", StatusMatched},
		{[]string{"userPrincipalName", "proxyAddresses"}, "gina@contoso.onmicrosoft.com", "upn", "gina@contoso.onmicrosoft.com", StatusMatched},
		// Fields not listed are not consulted.
		{[]string{"mail"}, "g@contoso.com", "", "", StatusUnmatched},
	}
	for _, tc := range tests {
		got := MatchUsers([]StarfaceUser{{ID: 1, Login: "0001", Email: tc.email}}, ent, Users{Match: tc.match})[0]
		if got.Status != tc.status || got.Basis != tc.basis || got.UPN != tc.upn {
			t.Errorf("match %v email %s: got %s/%s/%s, want %s/%s/%s", tc.match, tc.email, got.Status, got.Basis, got.UPN, tc.status, tc.basis, tc.upn)
		}
	}
}

func TestMatchUsersOverrideAmbiguous(t *testing.T) {
	// One user's UPN is another's mail: the override names two people.
	ent := []EntraUser{
		entra("id-1", "x@contoso.com", "one@contoso.com", true),
		entra("id-2", "two@contoso.com", "x@contoso.com", true),
	}
	got := MatchUsers([]StarfaceUser{{Login: "0001"}}, ent, Users{Overrides: map[string]string{"0001": "x@contoso.com"}})[0]
	if got.Status != StatusAmbiguous || got.Reason != `override "x@contoso.com" names 2 Entra users: x@contoso.com and two@contoso.com` {
		t.Errorf("got %+v", got)
	}
}

// bigDirectory builds n users on each side: most match by mail, every 10th
// by alias, every 25th by UPN only, every 50th is disabled, every 100th has
// no Entra user, and one pair of STARFACE users shares an address.
func bigDirectory(n int) ([]StarfaceUser, []EntraUser) {
	sf := make([]StarfaceUser, n)
	ent := make([]EntraUser, n)
	for i := range n {
		login := fmt.Sprintf("%05d", i)
		mail := fmt.Sprintf("user%d@contoso.com", i)
		e := EntraUser{ID: fmt.Sprintf("id-%d", i), UPN: fmt.Sprintf("u%d@contoso.onmicrosoft.com", i), Mail: mail, Enabled: i%50 != 7,
			ProxyAddresses: []string{"SMTP:" + mail, fmt.Sprintf("smtp:alias%d@contoso.com", i)}}
		email := mail
		switch {
		case i%100 == 99:
			email = fmt.Sprintf("gone%d@contoso.com", i)
		case i%25 == 3:
			email = e.UPN
		case i%10 == 1:
			email = fmt.Sprintf("ALIAS%d@contoso.com", i)
		}
		sf[i] = StarfaceUser{ID: i, Login: login, Name: login, Email: email}
		ent[i] = e
	}
	sf[n-2].Email = sf[n-3].Email // n-3 and n-2 share an address
	// Hand them over in reverse to check sorting.
	for i, j := 0, len(sf)-1; i < j; i, j = i+1, j-1 {
		sf[i], sf[j] = sf[j], sf[i]
	}
	return sf, ent
}

func TestMatchUsersMany(t *testing.T) {
	const n = 1500
	sf, ent := bigDirectory(n)
	got := MatchUsers(sf, ent, Users{Match: DefaultMatch(), Exclude: []string{"00000"}})
	if !sort.SliceIsSorted(got, func(i, j int) bool { return got[i].Login < got[j].Login }) {
		t.Fatal("not sorted by login")
	}
	var want MatchSummary
	for i := range n {
		m := got[i]
		if m.Login != fmt.Sprintf("%05d", i) {
			t.Fatalf("row %d is %s", i, m.Login)
		}
		var status Status
		var basis string
		switch {
		case i == 0:
			status = StatusExcluded
		case i == n-3 || i == n-2:
			status = StatusAmbiguous
		case i%100 == 99:
			status = StatusUnmatched
		case i%50 == 7: // found (by mail), but disabled
			status, basis = StatusDisabled, "mail"
		case i%25 == 3:
			status, basis = StatusMatched, "upn"
		case i%10 == 1:
			status, basis = StatusMatched, "alias"
		default:
			status, basis = StatusMatched, "mail"
		}
		if m.Status != status || m.Basis != basis {
			t.Errorf("%s: got %s/%s (%s), want %s/%s", m.Login, m.Status, m.Basis, m.Reason, status, basis)
		}
		if status == StatusMatched && m.EntraID != fmt.Sprintf("id-%d", i) {
			t.Errorf("%s matched %s", m.Login, m.EntraID)
		}
		switch status {
		case StatusMatched:
			want.Matched++
		case StatusUnmatched:
			want.Unmatched++
		case StatusAmbiguous:
			want.Ambiguous++
		case StatusDisabled:
			want.Disabled++
		case StatusExcluded:
			want.Excluded++
		}
	}
	if s := Summarize(got); s != want {
		t.Errorf("summary %v, want %v", s, want)
	}
}

func BenchmarkMatchUsers10k(b *testing.B) {
	sf, ent := bigDirectory(10000)
	u := Users{Match: DefaultMatch()}
	b.ReportAllocs()
	for b.Loop() {
		MatchUsers(sf, ent, u)
	}
}
