package mapping

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)
)

var (
	authNames   = []string{"client-secret", "client-certificate", "device-code"}
	sfAuthNames = []string{"auto", "classic", "oauth"}
	matchNames  = []string{"mail", "proxyAddresses", "userPrincipalName"}
	dndNames    = []string{"on", "off", "keep"}
)

// validate checks the decoded, defaulted config and records every problem.
// Values it normalises (URLs, fingerprint) are rewritten in place.
func (d *decoder) validate(c *Config) {
	d.microsoft(&c.Microsoft)
	d.starface(&c.Starface)
	d.users(&c.Users)
	d.rules(c.TeamsToStarface.Rules)
	d.reverse(&c.StarfaceToTeams)
	d.outOfOffice(&c.OutOfOffice)
	d.permissions(c)
	d.tests(c.Tests)
}

// oneOf phrases a list of valid values: "on, off or keep".
func oneOf(vals []string) string {
	if len(vals) == 1 {
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

func (d *decoder) microsoft(m *Microsoft) {
	switch {
	case strings.EqualFold(m.Cloud, "germany"):
		d.errf("microsoft.cloud", "germany (Microsoft Cloud Deutschland) was retired on 2021-10-29; its tenants moved to global")
	case !slices.Contains(cloudNames, m.Cloud):
		d.errf("microsoft.cloud", "%q is not valid; use %s%s", m.Cloud, oneOf(cloudNames), caseHint(m.Cloud, cloudNames))
	}
	clientCredentials := m.Auth == "client-secret" || m.Auth == "client-certificate"
	if !slices.Contains(authNames, m.Auth) {
		d.errf("microsoft.auth", "%q is not valid; use %s%s", m.Auth, oneOf(authNames), caseHint(m.Auth, authNames))
	}
	switch t := strings.ToLower(m.Tenant); {
	case t == "":
		d.errf("microsoft.tenant", "required: the tenant id (a GUID) or a verified domain such as contoso.onmicrosoft.com")
	case t == "consumers":
		d.errf("microsoft.tenant", "%q (personal Microsoft accounts) has no Teams presence; use the tenant id or a verified domain", m.Tenant)
	case t == "common" || t == "organizations":
		if clientCredentials {
			d.errf("microsoft.tenant", "%q cannot be used with auth %s (client credentials need one tenant); use the tenant id (a GUID) or a verified domain such as contoso.onmicrosoft.com", m.Tenant, m.Auth)
		}
	case !guidRE.MatchString(m.Tenant) && !domainRE.MatchString(m.Tenant):
		d.errf("microsoft.tenant", "%q is neither a tenant id (GUID) nor a domain such as contoso.onmicrosoft.com", m.Tenant)
	}
	switch {
	case m.ClientID == "":
		d.errf("microsoft.client_id", "required: the application (client) id of the app registration, a GUID")
	case !guidRE.MatchString(m.ClientID):
		d.errf("microsoft.client_id", "%q is not a GUID such as 11111111-2222-3333-4444-555555555555", m.ClientID)
	}
	if d.has("microsoft.client_secret_env") && m.ClientSecretFile != "" {
		d.errf("microsoft.client_secret_file", "set client_secret_env or client_secret_file, not both")
	}
	if m.Auth == "client-certificate" && m.CertificateFile == "" {
		d.errf("microsoft.certificate_file", "required with auth client-certificate: a PEM or PKCS#12 file with the certificate and its private key")
	}
	if m.Group != "" && !guidRE.MatchString(m.Group) {
		d.errf("microsoft.group", "%q is not an Entra group object id (a GUID)", m.Group)
	}
	if m.Concurrency < 1 || m.Concurrency > MaxGraphConcurrency {
		d.errf("microsoft.concurrency", "%d is out of range; use 1 to %d (presence requests in flight; Graph allows 1,500 requests per 30 s per app and tenant)", m.Concurrency, MaxGraphConcurrency)
	}
	m.AuthorityHost = d.httpsOrigin("microsoft.authority_host", m.AuthorityHost, "https://login.microsoftonline.us")
	m.GraphEndpoint = d.httpsOrigin("microsoft.graph_endpoint", m.GraphEndpoint, "https://graph.microsoft.us")
}

// httpsOrigin checks an optional https origin and returns it without a
// trailing slash.
func (d *decoder) httpsOrigin(path, s, example string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		d.errf(path, "%q is not a URL; use an https origin such as %s", s, example)
	case u.Scheme != "https":
		d.errf(path, "%q must use https; use an origin such as %s", s, example)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		d.errf(path, "%q must be an origin only (scheme and host, no path such as /v1.0); use something like %s", s, example)
	default:
		return strings.TrimSuffix(s, "/")
	}
	return s
}

func (d *decoder) starface(s *Starface) {
	s.URL = d.starfaceURL(s.URL)
	if s.Login == "" {
		d.errf("starface.login", `required: the login id of a STARFACE administrator, quoted, such as "0001"`)
	}
	if d.has("starface.password_env") && s.PasswordFile != "" {
		d.errf("starface.password_file", "set password_env or password_file, not both")
	}
	if s.Fingerprint != "" {
		fp := strings.ToLower(strings.ReplaceAll(s.Fingerprint, ":", ""))
		if b, err := hex.DecodeString(fp); err != nil || len(b) != 32 {
			d.errf("starface.fingerprint", "%q is not a SHA-256 fingerprint; use 64 hex digits, colons optional (openssl x509 -noout -fingerprint -sha256)", s.Fingerprint)
		} else {
			s.Fingerprint = fp
		}
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		d.errf("starface.concurrency", "%d is out of range; use 1 to 64", s.Concurrency)
	}
	if !slices.Contains(sfAuthNames, s.Auth) {
		d.errf("starface.auth", "%q is not valid; use %s%s", s.Auth, oneOf(sfAuthNames), caseHint(s.Auth, sfAuthNames))
	}
	if strings.TrimSpace(s.ClientID) == "" {
		d.errf("starface.client_id", "empty; remove the key to use %s", DefaultStarfaceClientID)
	}
	if d.has("starface.client_secret_env") && s.ClientSecretFile != "" {
		d.errf("starface.client_secret_file", "set client_secret_env or client_secret_file, not both")
	}
	switch {
	case strings.TrimSpace(s.Scope) == "":
		d.errf("starface.scope", "empty; remove the key to use %s (login is tried when the PBX refuses it)", DefaultStarfaceScope)
	case strings.IndexFunc(s.Scope, unicode.IsControl) >= 0:
		d.errf("starface.scope", "%q holds a control character; use scope names separated by spaces, such as pbx-login", s.Scope)
	}
	if s.OneHub && s.Auth == "classic" {
		d.errf("starface.onehub", "needs the OAuth sign-in of STARFACE 10 (OneHub takes no classic authToken): set starface.auth to oauth, or auto with a client secret")
	}
	if s.OneHubURL != "" {
		u, err := url.Parse(s.OneHubURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "grpcs") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			d.errf("starface.onehub_url", "%q is not valid; use https://HOST:PORT or grpcs://HOST:PORT (the cloud PBX's gRpcUrl), or leave it out for the PBX's host on port 9092", s.OneHubURL)
		}
	}
}

// starfaceURL checks the PBX base URL and returns it without a trailing slash
// or /rest, so clients can append /rest/... themselves.
func (d *decoder) starfaceURL(s string) string {
	const path = "starface.url"
	if s == "" {
		d.errf(path, "required: the PBX's base URL such as https://pbx.example.com")
		return s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		d.errf(path, "%q is not a URL; use the PBX's base URL such as https://pbx.example.com", s)
	case u.Scheme != "https" && u.Scheme != "http":
		d.errf(path, "%q must use https or http, such as https://pbx.example.com", s)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		d.errf(path, "%q must be a base URL without query, fragment or user name, such as https://pbx.example.com", s)
	default:
		s = strings.TrimSuffix(s, "/")
		s = strings.TrimSuffix(s, "/rest")
	}
	return s
}

func (d *decoder) users(u *Users) {
	if len(u.Match) == 0 {
		d.errf("users.match", "empty; list at least one of %s", oneOf(matchNames))
	}
	for i, f := range u.Match {
		p := index("users.match", i)
		if !slices.Contains(matchNames, f) {
			d.errf(p, "%q is not valid; use %s%s", f, oneOf(matchNames), caseHint(f, matchNames))
		} else if slices.Index(u.Match, f) < i {
			d.errf(p, "%q is listed twice", f)
		}
	}
	for login, to := range u.Overrides {
		p := "users.overrides." + login
		if strings.TrimSpace(login) == "" {
			d.errf(p, "empty STARFACE login")
		}
		if strings.TrimSpace(to) == "" {
			d.errf(p, "empty; give the Entra user's UPN, mail or object id")
		}
	}
	for i, l := range u.Exclude {
		if strings.TrimSpace(l) == "" {
			d.errf(index("users.exclude", i), "empty STARFACE login")
		}
	}
	if u.Refresh < 0 {
		d.errf("users.refresh", "%s is negative; use 0 to match again on every run, or a duration such as 10m", u.Refresh)
	}
	if _, _, err := parseMaxDrop(u.MaxDrop); err != nil {
		d.errf("users.max_drop", "%v", err)
	}
}

func (d *decoder) rules(rules []Rule) {
	if !d.has("teams_to_starface.rules") {
		return // the defaults, valid by construction (see TestDefaultRulesValid)
	}
	if len(rules) == 0 {
		d.errf("teams_to_starface.rules", "no rules; remove the key to use the default rules, or write `- {when: {}, dnd: keep}` to leave DND alone")
	}
	for i, r := range rules {
		p := index("teams_to_starface.rules", i)
		if !d.has(p + ".when") {
			d.errf(p, "missing when; use `when: {}` to match every presence")
		}
		d.names(p+".when.availability", r.When.Availability, Availabilities, "availability")
		d.names(p+".when.activity", r.When.Activity, Activities, "activity")
		d.dnd(p+".dnd", r.DND)
	}
}

// names checks a condition's list. An empty list given in the file could
// never match, which is surely not what was meant.
func (d *decoder) names(path string, vals, valid []string, what string) {
	if d.has(path) && len(vals) == 0 {
		d.errf(path, "an empty list never matches; remove the key to match any %s", what)
	}
	for i, v := range vals {
		d.name(index(path, i), v, valid, what)
	}
}

func (d *decoder) name(path, v string, valid []string, what string) {
	if slices.Contains(valid, v) {
		return
	}
	if hint := caseHint(v, valid); hint != "" {
		d.errf(path, "%q is not a known %s%s", v, what, hint)
		return
	}
	d.errf(path, "%q is not a known %s; use one of %s", v, what, strings.Join(valid, ", "))
}

// caseHint says `; did you mean "InACall"? (names are case-sensitive)` when v
// differs from a valid value only in case.
func caseHint(v string, valid []string) string {
	for _, ok := range valid {
		if strings.EqualFold(ok, v) && ok != v {
			return fmt.Sprintf("; did you mean %q? (names are case-sensitive)", ok)
		}
	}
	return ""
}

func (d *decoder) dnd(path string, v DND) {
	switch {
	case v.valid():
	case v == "":
		d.errf(path, "required; use on, off or keep")
	default:
		d.errf(path, "%q is not valid; use on, off or keep%s", string(v), caseHint(string(v), dndNames))
	}
}

func (d *decoder) reverse(r *StarfaceToTeams) {
	// Checked even while disabled, so switching it on later cannot fail.
	if !ValidSetPresencePair(r.OnDND) {
		pairs := make([]string, len(SetPresencePairs))
		for i, p := range SetPresencePairs {
			pairs[i] = p.String()
		}
		d.errf("starface_to_teams.on_dnd", "%s is not a pair setPresence accepts; use one of %s", r.OnDND, strings.Join(pairs, ", "))
	}
	if r.Expiration < 5*time.Minute || r.Expiration > 4*time.Hour {
		d.errf("starface_to_teams.expiration", "%s is out of range; setPresence takes 5m to 4h", r.Expiration)
	}
	if r.Poll < 10*time.Second {
		d.errf("starface_to_teams.poll", "%s is too short; use 10s or more", r.Poll)
	}
	if r.EchoGuard < 0 {
		d.errf("starface_to_teams.echo_guard", "%s is negative; use 0 or a duration such as 10m", r.EchoGuard)
	}
	if r.OnCall != (Pair{}) && !ValidSetPresencePair(r.OnCall) {
		pairs := make([]string, len(SetPresencePairs))
		for i, p := range SetPresencePairs {
			pairs[i] = p.String()
		}
		d.errf("starface_to_teams.on_call", "%s is not a pair setPresence accepts; use one of %s, or {} for off", r.OnCall, strings.Join(pairs, ", "))
	}
	if r.ReadRate < 1 || r.ReadRate > 1000 {
		d.errf("starface_to_teams.read_rate", "%d is out of range; use 1 to 1000 phone-config reads per second", r.ReadRate)
	}
}

// permissions checks what the configured features need from Microsoft against what the
// sign-in can have.
func (d *decoder) permissions(c *Config) {
	if c.StarfaceToTeams.OnCall != (Pair{}) && !c.Starface.OneHub {
		d.errf("starface_to_teams.on_call", "needs starface.onehub: true; STARFACE's REST API cannot see calls, only STARFACE 10's OneHub can")
	}
	if c.StarfaceToTeams.Enabled && c.Microsoft.Auth == "device-code" {
		// Microsoft has no delegated permission that sets another user's presence: the
		// delegated Presence.ReadWrite acts for the signed-in user alone.
		d.errf("starface_to_teams.enabled", "needs the application permission Presence.ReadWrite.All, "+
			"which a device-code sign-in (delegated) cannot have: use microsoft.auth client-secret or client-certificate, "+
			"or turn starface_to_teams off")
	}
}

func (d *decoder) tests(tests []Test) {
	for i, t := range tests {
		p := index("tests", i)
		if t.Availability == "" {
			d.errf(p+".availability", "required; use one of %s", strings.Join(Availabilities, ", "))
		} else {
			d.name(p+".availability", t.Availability, Availabilities, "availability")
		}
		if t.Activity != "" {
			d.name(p+".activity", t.Activity, Activities, "activity")
		}
		d.dnd(p+".expect.dnd", t.Expect.DND)
		switch t.Expect.Redirect {
		case "", "on", "off":
		default:
			d.errf(p+".expect.redirect", "%q is not valid; use on or off", t.Expect.Redirect)
		}
	}
}

// outOfOffice checks out_of_office.redirect and writes a number in the form STARFACE takes.
func (d *decoder) outOfOffice(o *OutOfOffice) {
	switch o.Redirect {
	case "", RedirectOff:
		o.Redirect = RedirectOff
		return
	case RedirectVoicemail:
		return
	}
	n, ok := normalizeNumber(o.Redirect)
	if !ok {
		d.errf("out_of_office.redirect", "%q is not valid; use off, voicemail, or a number: internal such as 201, external such as 0049301234567 or +49301234567 (quote it)", o.Redirect)
		return
	}
	o.Redirect = n
}
