package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	msYAML = "microsoft:\n  tenant: contoso.onmicrosoft.com\n  client_id: 11111111-2222-3333-4444-555555555555\n" // lines 1-3
	sfYAML = "starface:\n  url: https://pbx.example.com\n  login: \"0001\"\n"                                     // 3 lines
	// minimalYAML is the smallest valid file; anything appended starts on line 7.
	minimalYAML = msYAML + sfYAML
	// msLastYAML puts microsoft last, so lines appended from line 7 on indented
	// by two spaces are microsoft keys.
	msLastYAML = sfYAML + msYAML
)

func TestDropLimit(t *testing.T) {
	tests := []struct {
		maxDrop string
		before  int
		want    int
	}{
		{"10%", 40, 5},   // 4, but at least 5
		{"10%", 200, 20}, // 10% of 200
		{"10%", 201, 21}, // rounded up
		{"0%", 100, 5},
		{"25", 1000, 25},
		{"0", 1000, 0},
	}
	for _, tt := range tests {
		if got := (Users{MaxDrop: tt.maxDrop}).DropLimit(tt.before); got != tt.want {
			t.Errorf("DropLimit(%s of %d) = %d, want %d", tt.maxDrop, tt.before, got, tt.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse([]byte(minimalYAML), "min.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	want := &Config{
		File: "min.yaml",
		Microsoft: Microsoft{
			Cloud: "global", Tenant: "contoso.onmicrosoft.com", ClientID: "11111111-2222-3333-4444-555555555555",
			Auth: "client-secret", ClientSecretEnv: "TEAMSFACE_CLIENT_SECRET", Concurrency: 8,
		},
		Starface: Starface{URL: "https://pbx.example.com", Login: "0001", PasswordEnv: "STARFACE_PASSWORD", Concurrency: 4,
			Auth: "auto", ClientID: "rest-client-headless", ClientSecretEnv: "STARFACE_CLIENT_SECRET", Scope: "pbx-login"},
		Users: Users{Match: []string{"mail", "proxyAddresses", "userPrincipalName"}, Refresh: 10 * time.Minute, MaxDrop: "10%"},
		TeamsToStarface: TeamsToStarface{Rules: []Rule{
			{When: Condition{Activity: []string{"InACall", "InAConferenceCall", "Presenting"}}, DND: DNDOn},
			{When: Condition{Availability: []string{"DoNotDisturb"}}, DND: DNDOn},
			{When: Condition{Availability: []string{"Busy", "BusyIdle"}}, DND: DNDOn},
			{When: Condition{}, DND: DNDOff},
		}},
		StarfaceToTeams: StarfaceToTeams{
			OnDND:      Pair{"DoNotDisturb", "Presenting"},
			Expiration: 15 * time.Minute, Poll: 60 * time.Second, ReadRate: 20, EchoGuard: 10 * time.Minute,
		},
		OutOfOffice: OutOfOffice{Redirect: RedirectOff},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
}

func TestParseGraphConcurrency(t *testing.T) {
	for _, n := range []int{1, 16} {
		c, err := Parse([]byte(fmt.Sprintf("%s  concurrency: %d\n", msLastYAML, n)), "c.yaml")
		if err != nil || c.Microsoft.Concurrency != n {
			t.Errorf("concurrency %d: got %+v, %v", n, c, err)
		}
	}
}

func TestParseValues(t *testing.T) {
	y := msLastYAML + `  cloud: usgov-dod
  auth: client-certificate
  certificate_file: /etc/teamsface/app.pem
  client_secret_file: /etc/teamsface/secret
  authority_host: https://127.0.0.1:8443/
  graph_endpoint: https://graph.example.test
users:
  match: userPrincipalName
  overrides: {0003: alice@contoso.com, "0004": bob@contoso.com}
  exclude: [0001]
  refresh: 0s
teams_to_starface:
  rules:
    - when: {availability: Busy, activity: [InACall]}
      dnd: on
    - when: {activity: [Presenting]}
      dnd: true
    - when: {availability: [Away]}
      dnd: "off"
    - when: {}
      dnd: keep
starface_to_teams:
  enabled: yes
  on_dnd: {availability: Busy, activity: InACall}
  expiration: 1h30m
  poll: 10s
  echo_guard: 0s
tests:
  - {availability: Busy, activity: InACall, expect: {dnd: on}}
  - availability: PresenceUnknown
    expect: {dnd: keep}
`
	c, err := Parse([]byte(y), "v.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	m := c.Microsoft
	if m.Cloud != "usgov-dod" || m.Auth != "client-certificate" || m.CertificateFile != "/etc/teamsface/app.pem" {
		t.Errorf("microsoft = %+v", m)
	}
	if m.ClientSecretEnv != "" || m.ClientSecretFile != "/etc/teamsface/secret" {
		t.Errorf("a secret file must not get the default variable as well: %+v", m)
	}
	if m.AuthorityHost != "https://127.0.0.1:8443" {
		t.Errorf("authority_host not trimmed: %q", m.AuthorityHost)
	}
	if m.GraphEndpoint != "https://graph.example.test" {
		t.Errorf("graph_endpoint = %q", m.GraphEndpoint)
	}

	u := c.Users
	if !reflect.DeepEqual(u.Match, []string{"userPrincipalName"}) || u.Refresh != 0 {
		t.Errorf("users = %+v", u)
	}
	// Unquoted logins keep their leading zeros.
	if u.Overrides["0003"] != "alice@contoso.com" || u.Overrides["0004"] != "bob@contoso.com" || !reflect.DeepEqual(u.Exclude, []string{"0001"}) {
		t.Errorf("overrides/exclude = %v %v", u.Overrides, u.Exclude)
	}
	rules := c.TeamsToStarface.Rules
	wantDND := []DND{DNDOn, DNDOn, DNDOff, DNDKeep}
	wantLine := []int{20, 22, 24, 26}
	for i, r := range rules {
		if r.DND != wantDND[i] || r.Line != wantLine[i] {
			t.Errorf("rule %d: dnd %q line %d, want %q line %d", i+1, r.DND, r.Line, wantDND[i], wantLine[i])
		}
	}
	if !reflect.DeepEqual(rules[0].When, Condition{Availability: []string{"Busy"}, Activity: []string{"InACall"}}) {
		t.Errorf("rule 1 when = %+v", rules[0].When)
	}
	r := c.StarfaceToTeams
	if !r.Enabled || r.OnDND != (Pair{"Busy", "InACall"}) || r.Expiration != 90*time.Minute || r.Poll != 10*time.Second || r.EchoGuard != 0 {
		t.Errorf("starface_to_teams = %+v", r)
	}
	if len(c.Tests) != 2 || c.Tests[1].Availability != "PresenceUnknown" || c.Tests[1].Expect.DND != DNDKeep || c.Tests[1].Line != 36 {
		t.Errorf("tests = %+v", c.Tests)
	}
}

func TestParseNormalises(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://pbx.example.com/", "https://pbx.example.com"},
		{"https://pbx.example.com/rest", "https://pbx.example.com"},
		{"https://pbx.example.com/rest/", "https://pbx.example.com"},
		{"http://10.0.0.5:8080", "http://10.0.0.5:8080"},
		{"https://proxy.example.com/pbx1/rest", "https://proxy.example.com/pbx1"},
	} {
		y := msYAML + "starface:\n  login: \"0001\"\n  url: " + tc.url + "\n  fingerprint: AB:CD:" + strings.Repeat("0f", 30) + "\n"
		c, err := Parse([]byte(y), "n.yaml")
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if c.Starface.URL != tc.want {
			t.Errorf("url %s: got %q, want %q", tc.url, c.Starface.URL, tc.want)
		}
		if c.Starface.Fingerprint != "abcd"+strings.Repeat("0f", 30) {
			t.Errorf("fingerprint not normalised: %q", c.Starface.Fingerprint)
		}
	}
}

func TestParseSectionWithoutRulesGetsDefaults(t *testing.T) {
	for _, extra := range []string{"teams_to_starface:\n", "teams_to_starface: {}\n"} {
		c, err := Parse([]byte(minimalYAML+extra), "r.yaml")
		if err != nil {
			t.Fatalf("%q: %v", extra, err)
		}
		if !reflect.DeepEqual(c.TeamsToStarface.Rules, DefaultRules()) {
			t.Errorf("%q: rules = %+v", extra, c.TeamsToStarface.Rules)
		}
	}
}

func TestParseDeviceCodeAllowsCommon(t *testing.T) {
	y := "microsoft:\n  tenant: organizations\n  auth: device-code\n  client_id: 11111111-2222-3333-4444-555555555555\n" + sfYAML
	if _, err := Parse([]byte(y), "d.yaml"); err != nil {
		t.Fatalf("device-code with organizations: %v", err)
	}
}

// Every validation problem names file:line:column, the key and what is valid.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		pos  string // "file:line:col: field:" prefix of the (first) error
		msg  []string
	}{
		// microsoft
		{"cloud unknown", msLastYAML + "  cloud: mars\n", "e.yaml:7:10: microsoft.cloud: ", []string{`"mars" is not valid; use global, usgov, usgov-dod or china`}},
		{"cloud germany", msLastYAML + "  cloud: germany\n", "e.yaml:7:10: microsoft.cloud: ", []string{"retired on 2021-10-29"}},
		{"cloud case", msLastYAML + "  cloud: Global\n", "e.yaml:7:10: microsoft.cloud: ", []string{`did you mean "global"?`}},
		{"auth unknown", msLastYAML + "  auth: password\n", "e.yaml:7:9: microsoft.auth: ", []string{"use client-secret, client-certificate or device-code"}},
		{"tenant common", sfYAML + "microsoft:\n  tenant: common\n  client_id: 11111111-2222-3333-4444-555555555555\n", "e.yaml:5:11: microsoft.tenant: ", []string{`"common" cannot be used with auth client-secret`, "tenant id (a GUID)"}},
		{"tenant consumers", sfYAML + "microsoft:\n  tenant: consumers\n  auth: device-code\n  client_id: 11111111-2222-3333-4444-555555555555\n", "e.yaml:5:11: microsoft.tenant: ", []string{"personal Microsoft accounts"}},
		{"tenant malformed", sfYAML + "microsoft:\n  tenant: not a domain\n  client_id: 11111111-2222-3333-4444-555555555555\n", "e.yaml:5:11: microsoft.tenant: ", []string{"neither a tenant id (GUID) nor a domain"}},
		{"tenant missing", sfYAML + "microsoft:\n  client_id: 11111111-2222-3333-4444-555555555555\n", "e.yaml:5:3: microsoft.tenant: ", []string{"required"}},
		{"client_id not guid", sfYAML + "microsoft:\n  tenant: contoso.onmicrosoft.com\n  client_id: my-app\n", "e.yaml:6:14: microsoft.client_id: ", []string{`"my-app" is not a GUID`}},
		{"client_id missing", sfYAML + "microsoft:\n  tenant: contoso.onmicrosoft.com\n", "e.yaml:5:3: microsoft.client_id: ", []string{"required"}},
		{"microsoft missing", sfYAML, "e.yaml: microsoft.tenant: ", []string{"required"}},
		{"certificate missing", msLastYAML + "  auth: client-certificate\n", "e.yaml:5:3: microsoft.certificate_file: ", []string{"required with auth client-certificate"}},
		{"both secret sources", msLastYAML + "  client_secret_env: X\n  client_secret_file: /s\n", "e.yaml:8:23: microsoft.client_secret_file: ", []string{"not both"}},
		{"group not guid", msLastYAML + "  group: Sales\n", "e.yaml:7:10: microsoft.group: ", []string{"object id (a GUID)"}},
		{"authority http", msLastYAML + "  authority_host: http://login.example.com\n", "e.yaml:7:19: microsoft.authority_host: ", []string{"must use https"}},
		{"graph with path", msLastYAML + "  graph_endpoint: https://graph.microsoft.com/v1.0\n", "e.yaml:7:19: microsoft.graph_endpoint: ", []string{"origin only", "no path such as /v1.0"}},
		{"graph not url", msLastYAML + "  graph_endpoint: graph.microsoft.com\n", "e.yaml:7:19: microsoft.graph_endpoint: ", []string{"is not a URL"}},
		{"graph concurrency 0", msLastYAML + "  concurrency: 0\n", "e.yaml:7:16: microsoft.concurrency: ", []string{"use 1 to 16", "1,500 requests per 30 s"}},
		{"graph concurrency 17", msLastYAML + "  concurrency: 17\n", "e.yaml:7:16: microsoft.concurrency: ", []string{"use 1 to 16"}},
		// starface
		{"url scheme", msYAML + "starface:\n  login: \"0001\"\n  url: ftp://pbx\n", "e.yaml:6:8: starface.url: ", []string{"must use https or http"}},
		{"url missing", msYAML + "starface:\n  login: \"0001\"\n", "e.yaml:5:3: starface.url: ", []string{"required", "https://pbx.example.com"}},
		{"url query", msYAML + "starface:\n  login: \"0001\"\n  url: https://pbx?x=1\n", "e.yaml:6:8: starface.url: ", []string{"without query"}},
		{"login missing", msYAML + "starface:\n  url: https://pbx\n", "e.yaml:5:3: starface.login: ", []string{"required"}},
		{"fingerprint short", minimalYAML + "  fingerprint: ab:cd\n", "e.yaml:7:16: starface.fingerprint: ", []string{"64 hex digits"}},
		{"fingerprint not hex", minimalYAML + "  fingerprint: " + strings.Repeat("zz", 32) + "\n", "e.yaml:7:16: starface.fingerprint: ", []string{"64 hex digits"}},
		{"concurrency 0", minimalYAML + "  concurrency: 0\n", "e.yaml:7:16: starface.concurrency: ", []string{"use 1 to 64"}},
		{"concurrency 65", minimalYAML + "  concurrency: 65\n", "e.yaml:7:16: starface.concurrency: ", []string{"use 1 to 64"}},
		{"concurrency word", minimalYAML + "  concurrency: many\n", "e.yaml:7:16: starface.concurrency: ", []string{`"many" is not a whole number`}},
		{"bool word", minimalYAML + "  insecure_skip_verify: maybe\n", "e.yaml:7:25: starface.insecure_skip_verify: ", []string{"use true or false"}},
		{"both passwords", minimalYAML + "  password_env: P\n  password_file: /p\n", "e.yaml:8:18: starface.password_file: ", []string{"not both"}},
		{"auth unknown", minimalYAML + "  auth: token\n", "e.yaml:7:9: starface.auth: ", []string{`"token" is not valid; use auto, classic or oauth`}},
		{"auth case", minimalYAML + "  auth: OAuth\n", "e.yaml:7:9: starface.auth: ", []string{`did you mean "oauth"?`}},
		{"client id empty", minimalYAML + "  client_id: \"\"\n", "e.yaml:7:14: starface.client_id: ", []string{"empty", "rest-client-headless"}},
		{"both client secrets", minimalYAML + "  client_secret_env: S\n  client_secret_file: /s\n", "e.yaml:8:23: starface.client_secret_file: ", []string{"not both"}},
		{"scope empty", minimalYAML + "  scope: \" \"\n", "e.yaml:7:10: starface.scope: ", []string{"empty", "pbx-login"}},
		// users
		{"match unknown", minimalYAML + "users:\n  match: [mail, email]\n", "e.yaml:8:17: users.match[2]: ", []string{`"email" is not valid; use mail, proxyAddresses or userPrincipalName`}},
		{"match case", minimalYAML + "users:\n  match: [Mail]\n", "e.yaml:8:11: users.match[1]: ", []string{`did you mean "mail"?`}},
		{"match twice", minimalYAML + "users:\n  match: [mail, mail]\n", "e.yaml:8:17: users.match[2]: ", []string{"listed twice"}},
		{"match empty", minimalYAML + "users:\n  match: []\n", "e.yaml:8:10: users.match: ", []string{"list at least one of mail, proxyAddresses or userPrincipalName"}},
		{"refresh negative", minimalYAML + "users:\n  refresh: -1m\n", "e.yaml:8:12: users.refresh: ", []string{"negative"}},
		{"refresh no unit", minimalYAML + "users:\n  refresh: 10\n", "e.yaml:8:12: users.refresh: ", []string{`"10" is not a duration; use Go syntax such as 10s, 15m or 1h30m`}},
		{"override empty", minimalYAML + "users:\n  overrides: {\"0003\": \"\"}\n", "e.yaml:8:23: users.overrides.0003: ", []string{"give the Entra user's UPN, mail or object id"}},
		{"overrides list", minimalYAML + "users:\n  overrides: [a]\n", "e.yaml:8:14: users.overrides: ", []string{"expected a mapping"}},
		// rules
		{"dnd maybe", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {}\n      dnd: on\n    - when: {}\n      dnd: maybe\n",
			"e.yaml:12:12: teams_to_starface.rules[2].dnd: ", []string{`"maybe" is not valid; use on, off or keep`}},
		{"dnd case", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {}\n      dnd: On\n", "e.yaml:10:12: teams_to_starface.rules[1].dnd: ", []string{`did you mean "on"?`}},
		{"dnd missing", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {}\n", "e.yaml:9:7: teams_to_starface.rules[1].dnd: ", []string{"required; use on, off or keep"}},
		{"when missing", minimalYAML + "teams_to_starface:\n  rules:\n    - dnd: on\n", "e.yaml:9:7: teams_to_starface.rules[1]: ", []string{"missing when", "when: {}"}},
		{"activity unknown", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {activity: [InACall, InCall]}\n      dnd: on\n",
			"e.yaml:9:34: teams_to_starface.rules[1].when.activity[2]: ", []string{`"InCall" is not a known activity; use one of Available, AvailableInactive, Away`, "UrgentInterruptionsOnly"}},
		{"activity case", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {activity: inACall}\n      dnd: on\n",
			"e.yaml:9:24: teams_to_starface.rules[1].when.activity[1]: ", []string{`did you mean "InACall"? (names are case-sensitive)`}},
		{"availability unknown", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {availability: [Focusing]}\n      dnd: on\n",
			"e.yaml:9:29: teams_to_starface.rules[1].when.availability[1]: ", []string{`"Focusing" is not a known availability; use one of Available, AvailableIdle`, "PresenceUnknown"}},
		{"availability empty list", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {availability: []}\n      dnd: on\n",
			"e.yaml:9:28: teams_to_starface.rules[1].when.availability: ", []string{"never matches"}},
		{"rules empty", minimalYAML + "teams_to_starface:\n  rules: []\n", "e.yaml:8:10: teams_to_starface.rules: ", []string{"remove the key to use the default rules"}},
		{"rules not a list", minimalYAML + "teams_to_starface:\n  rules: {when: {}}\n", "e.yaml:8:10: teams_to_starface.rules: ", []string{"expected a list, got a mapping"}},
		// starface_to_teams
		{"on_dnd refused pair", minimalYAML + "starface_to_teams:\n  enabled: false\n  on_dnd: {availability: Busy, activity: Busy}\n",
			"e.yaml:9:11: starface_to_teams.on_dnd: ", []string{"Busy/Busy is not a pair setPresence accepts", "Available/Available, Busy/InACall, Busy/InAConferenceCall, Away/Away, DoNotDisturb/Presenting"}},
		{"on_dnd half", minimalYAML + "starface_to_teams:\n  on_dnd: {availability: DoNotDisturb}\n", "e.yaml:8:11: starface_to_teams.on_dnd: ", []string{"DoNotDisturb/ is not a pair"}},
		{"expiration short", minimalYAML + "starface_to_teams:\n  expiration: 1m\n", "e.yaml:8:15: starface_to_teams.expiration: ", []string{"5m to 4h"}},
		{"expiration long", minimalYAML + "starface_to_teams:\n  expiration: 5h\n", "e.yaml:8:15: starface_to_teams.expiration: ", []string{"5m to 4h"}},
		{"poll short", minimalYAML + "starface_to_teams:\n  poll: 5s\n", "e.yaml:8:9: starface_to_teams.poll: ", []string{"use 10s or more"}},
		{"echo_guard negative", minimalYAML + "starface_to_teams:\n  echo_guard: -1s\n", "e.yaml:8:15: starface_to_teams.echo_guard: ", []string{"negative"}},
		{"read_rate zero", minimalYAML + "starface_to_teams:\n  read_rate: 0\n", "e.yaml:8:14: starface_to_teams.read_rate: ", []string{"use 1 to 1000"}},
		{"device code cannot set others' presence", msLastYAML + "  auth: device-code\nstarface_to_teams:\n  enabled: true\n",
			"e.yaml:9:12: starface_to_teams.enabled: ", []string{"application permission Presence.ReadWrite.All", "device-code", "client-secret or client-certificate"}},
		// users
		{"max_drop word", minimalYAML + "users:\n  max_drop: lots\n", "e.yaml:8:13: users.max_drop: ", []string{`"lots" is neither a percentage such as 10% nor a number of users such as 25`}},
		{"max_drop over 100%", minimalYAML + "users:\n  max_drop: 120%\n", "e.yaml:8:13: users.max_drop: ", []string{"from 0% to 100%"}},
		// tests
		{"test availability unknown", minimalYAML + "tests:\n  - {availability: Bussy, expect: {dnd: on}}\n", "e.yaml:8:20: tests[1].availability: ", []string{`"Bussy" is not a known availability`}},
		{"test activity unknown", minimalYAML + "tests:\n  - {availability: Busy, activity: Call, expect: {dnd: on}}\n", "e.yaml:8:36: tests[1].activity: ", []string{`"Call" is not a known activity`}},
		{"test availability missing", minimalYAML + "tests:\n  - {expect: {dnd: on}}\n", "e.yaml:8:5: tests[1].availability: ", []string{"required"}},
		{"test dnd invalid", minimalYAML + "tests:\n  - {availability: Busy, expect: {dnd: yes please}}\n", "e.yaml:8:40: tests[1].expect.dnd: ", []string{`"yes please" is not valid; use on, off or keep`}},
		// unknown keys at several levels
		{"unknown top", minimalYAML + "microsft:\n  cloud: global\n", "e.yaml:7:1: microsft: ", []string{`unknown key (did you mean "microsoft"?); valid keys here: microsoft, starface, users, teams_to_starface, starface_to_teams, out_of_office, tests`}},
		{"unknown microsoft", msLastYAML + "  tenant_id: x\n", "e.yaml:7:3: microsoft.tenant_id: ", []string{"unknown key", "valid keys here: cloud, tenant, client_id, auth, client_secret_env, client_secret_file, certificate_file, group, authority_host, graph_endpoint"}},
		{"unknown users", minimalYAML + "users:\n  overides: {}\n", "e.yaml:8:3: users.overides: ", []string{`did you mean "overrides"?`, "valid keys here: match, overrides, exclude, refresh, max_drop"}},
		{"unknown when", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {availabilty: [Busy]}\n      dnd: on\n",
			"e.yaml:9:14: teams_to_starface.rules[1].when.availabilty: ", []string{`did you mean "availability"?`, "valid keys here: availability, activity"}},
		{"unknown rule key", minimalYAML + "teams_to_starface:\n  rules:\n    - when: {}\n      dnd: on\n      priority: 1\n",
			"e.yaml:11:7: teams_to_starface.rules[1].priority: ", []string{"valid keys here: when, dnd"}},
		{"unknown on_dnd", minimalYAML + "starface_to_teams:\n  on_dnd: {availability: Away, activty: Away}\n", "e.yaml:8:32: starface_to_teams.on_dnd.activty: ", []string{"valid keys here: availability, activity"}},
		{"unknown expect", minimalYAML + "tests:\n  - {availability: Busy, expect: {dnd: on, why: x}}\n", "e.yaml:8:44: tests[1].expect.why: ", []string{"valid keys here: dnd"}},
		// structure
		{"duplicate key", msLastYAML + "  tenant: other.example.com\n", "e.yaml:7:3: microsoft.tenant: ", []string{"duplicate key; first given on line 5"}},
		{"section not mapping", minimalYAML + "users: [a]\n", "e.yaml:7:8: users: ", []string{"expected a mapping with keys match, overrides, exclude, refresh, max_drop, got a list"}},
		{"syntax", minimalYAML + "users:\n  match: [mail\n", "e.yaml:", []string{"invalid YAML"}},
		{"top not mapping", "- a\n- b\n", "e.yaml:1:1: ", []string{"expected a mapping with keys microsoft, starface"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), "e.yaml")
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Errorf("config returned along with an error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			if !strings.HasPrefix(ce.Error(), tc.pos) {
				t.Errorf("first error\n %q\ndoes not start with\n %q\n(all: %v)", ce.Error(), tc.pos, err)
			}
			var es ConfigErrors
			n := 1
			if tc.name == "microsoft missing" {
				n = 2 // tenant and client_id
			}
			if errors.As(err, &es) && len(es) != n {
				t.Errorf("want %d problems, got %d:\n%v", n, len(es), err)
			}
			for _, m := range tc.msg {
				if !strings.Contains(ce.Error(), m) {
					t.Errorf("first error %q lacks %q", ce.Error(), m)
				}
			}
		})
	}
}

func TestParseReportsAllProblems(t *testing.T) {
	y := minimalYAML + "  concurrency: 0\nusers:\n  match: [email]\nstarface_to_teams:\n  poll: 1s\n"
	_, err := Parse([]byte(y), "all.yaml")
	var es ConfigErrors
	if !errors.As(err, &es) {
		t.Fatalf("want ConfigErrors, got %T %v", err, err)
	}
	if len(es) != 3 {
		t.Fatalf("want 3 problems, got %d: %v", len(es), err)
	}
	// In file order, one per line.
	want := []string{"all.yaml:7:16: starface.concurrency", "all.yaml:9:11: users.match[1]", "all.yaml:11:9: starface_to_teams.poll"}
	lines := strings.Split(err.Error(), "\n")
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i+1, lines[i], w)
		}
	}
}

func TestParseSyntaxErrorHasLine(t *testing.T) {
	_, err := Parse([]byte(minimalYAML+"users:\n  match: [mail\n"), "s.yaml")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Line == 0 {
		t.Fatalf("syntax error without a line: %#v", err)
	}
}

// `dnd: on` unquoted is the string on (yaml.v3 keeps YAML 1.2 booleans only),
// and a boolean that a YAML 1.1 tool made of it still means on/off.
func TestDNDUnquoted(t *testing.T) {
	for _, tc := range []struct {
		lit  string
		want DND
	}{{"on", DNDOn}, {"off", DNDOff}, {"keep", DNDKeep}, {`"on"`, DNDOn}, {"'off'", DNDOff}, {"true", DNDOn}, {"false", DNDOff}, {"True", DNDOn}} {
		y := minimalYAML + "teams_to_starface:\n  rules:\n    - when: {}\n      dnd: " + tc.lit + "\n"
		c, err := Parse([]byte(y), "d.yaml")
		if err != nil {
			t.Fatalf("dnd: %s: %v", tc.lit, err)
		}
		if got := c.TeamsToStarface.Rules[0].DND; got != tc.want {
			t.Errorf("dnd: %s = %q, want %q", tc.lit, got, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(p, []byte(minimalYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil || c.File != p {
		t.Fatalf("load: %v, %+v", err, c)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: want *ConfigError wrapping ErrNotExist, got %#v", err)
	}
	if want := filepath.Join(dir, "missing.yaml") + ": read configuration: no such file or directory"; err.Error() != want {
		t.Errorf("missing file message %q, want %q", err, want)
	}
}

func TestConfigErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    ConfigError
		want string
	}{
		{ConfigError{File: "m.yaml", Line: 12, Column: 7, Field: "a.b", Msg: "bad"}, "m.yaml:12:7: a.b: bad"},
		{ConfigError{File: "m.yaml", Line: 12, Field: "a.b", Msg: "bad"}, "m.yaml:12: a.b: bad"},
		{ConfigError{File: "m.yaml", Field: "a.b", Msg: "bad"}, "m.yaml: a.b: bad"},
		{ConfigError{Field: "a.b", Msg: "bad"}, "a.b: bad"},
		{ConfigError{File: "m.yaml", Msg: "bad"}, "m.yaml: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
