package mapping

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config is the whole mapping.yaml, validated and with defaults filled in.
type Config struct {
	File            string          `yaml:"-"` // the path it was loaded from
	Microsoft       Microsoft       `yaml:"microsoft"`
	Starface        Starface        `yaml:"starface"`
	Users           Users           `yaml:"users"`
	TeamsToStarface TeamsToStarface `yaml:"teams_to_starface"`
	StarfaceToTeams StarfaceToTeams `yaml:"starface_to_teams"`
	OutOfOffice     OutOfOffice     `yaml:"out_of_office"`
	Tests           []Test          `yaml:"tests"`

	// Getenv, when set, replaces the process environment for secrets' variables (the command
	// line passes its own, so that tests and the demo need not change the process's).
	Getenv func(string) string `yaml:"-"`

	decided sync.Map // Presence → Decision, see Decide
}

// Microsoft is how teamsface signs in to Entra and reaches Graph.
type Microsoft struct {
	Cloud            string `yaml:"cloud"`
	Tenant           string `yaml:"tenant"`
	ClientID         string `yaml:"client_id"`
	Auth             string `yaml:"auth"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	CertificateFile  string `yaml:"certificate_file"`
	Group            string `yaml:"group"`
	// AuthorityHost and GraphEndpoint are origins without a trailing slash
	// once loaded; empty means the cloud's default, which the Graph client's
	// cloud table knows (graph.ResolveCloud).
	AuthorityHost string `yaml:"authority_host"`
	GraphEndpoint string `yaml:"graph_endpoint"`
	// Concurrency is how many presence requests may be in flight at once.
	Concurrency int `yaml:"concurrency"`
}

// Starface is how teamsface reaches the PBX.
type Starface struct {
	// URL is the PBX's base URL; once loaded it has no trailing slash and no
	// trailing /rest.
	URL          string `yaml:"url"`
	Login        string `yaml:"login"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`
	// Fingerprint is, once loaded, 64 lower-case hex digits without colons
	// (or empty).
	Fingerprint        string `yaml:"fingerprint"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
	Group              string `yaml:"group"`
	Concurrency        int    `yaml:"concurrency"`
	// Auth is how teamsface signs in: auto (OAuth when a client secret is configured and the
	// PBX's realm answers, else classic), classic (the nonce login) or oauth (STARFACE 10).
	Auth             string `yaml:"auth"`
	ClientID         string `yaml:"client_id"`
	ClientSecretEnv  string `yaml:"client_secret_env"`
	ClientSecretFile string `yaml:"client_secret_file"`
	Scope            string `yaml:"scope"`
	// OneHub turns on STARFACE 10's OneHub (experimental): DND and calls of everyone in one
	// read, and their changes as a stream in sync watch. OneHubURL is where it listens
	// (https:// or grpcs://; empty: the PBX's host, port 9092).
	OneHub    bool   `yaml:"onehub"`
	OneHubURL string `yaml:"onehub_url"`
}

// Users says which STARFACE users take part and how they are matched.
type Users struct {
	Match     []string          `yaml:"match"`
	Overrides map[string]string `yaml:"overrides"`
	Exclude   []string          `yaml:"exclude"`
	Refresh   time.Duration     `yaml:"refresh"`
	// MaxDrop is how many of the users matched before a refreshed match may drop
	// before it is held (DESIGN.md rule 8): "10%" or a number of users.
	MaxDrop string `yaml:"max_drop"`
}

// DropLimit is how many of before matched users a refreshed match may drop
// and still be applied: users.max_drop as a number, or as a percentage of
// before but never fewer than MinDropLimit users.
func (u Users) DropLimit(before int) int {
	pct, count, _ := parseMaxDrop(u.MaxDrop)
	if pct < 0 {
		return count
	}
	return max(int(math.Ceil(pct*float64(before)/100)), MinDropLimit)
}

// parseMaxDrop reads "10%" (pct 10, count -1) or "25" (pct -1, count 25).
func parseMaxDrop(s string) (pct float64, count int, err error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v < 0 || v > 100 {
			return -1, -1, fmt.Errorf("%q is not a percentage from 0%% to 100%%", s)
		}
		return v, -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return -1, -1, fmt.Errorf("%q is neither a percentage such as 10%% nor a number of users such as 25", s)
	}
	return -1, n, nil
}

// TeamsToStarface holds the presence → DND rules, first match wins.
type TeamsToStarface struct {
	Rules []Rule `yaml:"rules"`
}

// Rule switches DND when its condition holds.
type Rule struct {
	When Condition `yaml:"when"`
	DND  DND       `yaml:"dnd"`
	Line int       `yaml:"-"` // where the rule starts in the file, for messages
}

// Condition lists the values a presence field must have; a field that is not
// listed matches anything, so an empty Condition matches every presence.
type Condition struct {
	Availability []string `yaml:"availability"`
	Activity     []string `yaml:"activity"`
	// OutOfOffice, when set, must equal whether the user is out of office (Graph's
	// outOfOfficeSettings.isOutOfOffice, or activity OutOfOffice).
	OutOfOffice *bool `yaml:"out_of_office"`
}

// StarfaceToTeams is the optional reverse direction: a DND set by hand on
// STARFACE shows in Teams through teamsface's own presence session.
type StarfaceToTeams struct {
	Enabled    bool          `yaml:"enabled"`
	OnDND      Pair          `yaml:"on_dnd"`
	Expiration time.Duration `yaml:"expiration"`
	Poll       time.Duration `yaml:"poll"`
	// ReadRate bounds the phone-config reads per second this direction adds beyond the
	// least that poll needs.
	ReadRate  int           `yaml:"read_rate"`
	EchoGuard time.Duration `yaml:"echo_guard"`
	// OnCall is shown in Teams while a user is on a STARFACE call (needs starface.onehub);
	// the zero Pair is off.
	OnCall Pair `yaml:"on_call"`
}

// Test is one entry of the file's tests: section.
type Test struct {
	Availability string     `yaml:"availability"`
	Activity     string     `yaml:"activity"`
	OutOfOffice  bool       `yaml:"out_of_office"`
	Expect       TestExpect `yaml:"expect"`
	Line         int        `yaml:"-"`
}

// TestExpect is what a test expects the rules to decide.
type TestExpect struct {
	DND DND `yaml:"dnd"`
	// Redirect is "on" or "off": whether the user's calls are redirected (out_of_office);
	// "" expects nothing.
	Redirect string `yaml:"redirect"`
}

// Defaults, also listed by Keys.
const (
	DefaultCloud                   = "global"
	DefaultAuth                    = "client-secret"
	DefaultClientSecretEnv         = "TEAMSFACE_CLIENT_SECRET"
	DefaultPasswordEnv             = "STARFACE_PASSWORD"
	DefaultConcurrency             = 4
	DefaultStarfaceAuth            = "auto"
	DefaultStarfaceClientID        = "rest-client-headless"
	DefaultStarfaceClientSecretEnv = "STARFACE_CLIENT_SECRET"
	DefaultStarfaceScope           = "pbx-login"
	DefaultRefresh                 = 10 * time.Minute
	DefaultExpiration              = 15 * time.Minute
	DefaultPoll                    = 60 * time.Second
	DefaultReadRate                = 20
	DefaultMaxDrop                 = "10%"
	// MinDropLimit is the fewest users a percentage max_drop lets go at once.
	MinDropLimit     = 5
	DefaultEchoGuard = 10 * time.Minute
)

// microsoft.concurrency: 10,000 users are 16 presence requests (650 ids each), far below Graph's
// 1,500 requests per 30 s per app and tenant; more in flight gains nothing but bursts.
const (
	DefaultGraphConcurrency = 8
	MaxGraphConcurrency     = 16
)

// DefaultMatch is the default order of users.match.
func DefaultMatch() []string { return []string{"mail", "proxyAddresses", "userPrincipalName"} }

// DefaultOnDND is the default starface_to_teams.on_dnd.
func DefaultOnDND() Pair { return Pair{Availability: "DoNotDisturb", Activity: "Presenting"} }

// DefaultRules reproduce STARFACE's own Teams integration: calls,
// conferences, presenting, Do-Not-Disturb and Busy switch DND on, everything
// else switches it off. They apply when the file has no teams_to_starface.rules.
func DefaultRules() []Rule {
	return []Rule{
		{When: Condition{Activity: []string{"InACall", "InAConferenceCall", "Presenting"}}, DND: DNDOn},
		{When: Condition{Availability: []string{"DoNotDisturb"}}, DND: DNDOn},
		{When: Condition{Availability: []string{"Busy", "BusyIdle"}}, DND: DNDOn},
		{When: Condition{}, DND: DNDOff},
	}
}

// cloudNames are the values microsoft.cloud accepts: the names of the Graph client's cloud
// table (graph.CloudNames), which holds each cloud's sign-in host and Graph root.
var cloudNames = []string{"global", "usgov", "usgov-dod", "china"}

// Load reads, parses and validates the file at path and fills in defaults.
// Every problem is a *ConfigError (several come as ConfigErrors).
func Load(path string) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("read configuration: %v", unwrapPathError(err)), Err: err}
	}
	if len(data) > MaxConfigSize {
		return nil, &ConfigError{File: path, Msg: fmt.Sprintf("the file is larger than %d bytes (1 MiB), far more than any configuration needs; is it the right file?", MaxConfigSize)}
	}
	return Parse(data, path)
}

// MaxConfigSize is the largest configuration file Load reads. A real one is a few kilobytes;
// without a limit, a wrong file (a log, a disk image) took seconds and a gigabyte to refuse.
const MaxConfigSize = 1 << 20

// readLimited reads at most MaxConfigSize+1 bytes of path, enough to tell it is too big.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxConfigSize+1))
}

// unwrapPathError drops the *fs.PathError wrapper, whose text repeats the
// path the ConfigError already names.
func unwrapPathError(err error) error {
	if pe, ok := err.(interface{ Unwrap() error }); ok && pe.Unwrap() != nil {
		if _, isPath := err.(*os.PathError); isPath {
			return pe.Unwrap()
		}
	}
	return err
}

// Parse is Load for data already in memory; file is used in messages only.
func Parse(data []byte, file string) (*Config, error) {
	c := &Config{File: file}
	d, err := decodeYAML(data, file, c)
	if err != nil {
		return nil, err
	}
	c.applyDefaults(d)
	d.validate(c)
	if err := d.errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// applyDefaults fills in what the file leaves out. It looks at which keys the
// file has, not at zero values, so an explicit `refresh: 0s` or `rules: []`
// stays what it says.
func (c *Config) applyDefaults(d *decoder) {
	m := &c.Microsoft
	if !d.has("microsoft.cloud") {
		m.Cloud = DefaultCloud
	}
	if !d.has("microsoft.auth") {
		m.Auth = DefaultAuth
	}
	if !d.has("microsoft.client_secret_env") && m.ClientSecretFile == "" {
		m.ClientSecretEnv = DefaultClientSecretEnv
	}
	if !d.has("microsoft.concurrency") {
		m.Concurrency = DefaultGraphConcurrency
	}
	s := &c.Starface
	if !d.has("starface.password_env") && s.PasswordFile == "" {
		s.PasswordEnv = DefaultPasswordEnv
	}
	if !d.has("starface.concurrency") {
		s.Concurrency = DefaultConcurrency
	}
	if !d.has("starface.auth") {
		s.Auth = DefaultStarfaceAuth
	}
	if !d.has("starface.client_id") {
		s.ClientID = DefaultStarfaceClientID
	}
	if !d.has("starface.client_secret_env") && s.ClientSecretFile == "" {
		s.ClientSecretEnv = DefaultStarfaceClientSecretEnv
	}
	if !d.has("starface.scope") {
		s.Scope = DefaultStarfaceScope
	}
	if !d.has("users.match") {
		c.Users.Match = DefaultMatch()
	}
	if !d.has("users.refresh") {
		c.Users.Refresh = DefaultRefresh
	}
	if !d.has("users.max_drop") {
		c.Users.MaxDrop = DefaultMaxDrop
	}
	if !d.has("teams_to_starface.rules") {
		c.TeamsToStarface.Rules = DefaultRules()
	}
	r := &c.StarfaceToTeams
	if !d.has("starface_to_teams.on_dnd") {
		r.OnDND = DefaultOnDND()
	}
	if !d.has("starface_to_teams.expiration") {
		r.Expiration = DefaultExpiration
	}
	if !d.has("starface_to_teams.poll") {
		r.Poll = DefaultPoll
	}
	if !d.has("starface_to_teams.read_rate") {
		r.ReadRate = DefaultReadRate
	}
	if !d.has("starface_to_teams.echo_guard") {
		r.EchoGuard = DefaultEchoGuard
	}
}
