package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/livestate"
	"github.com/teamsface/teamsface/cmd/internal/progress"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/state"
)

// run is what one command invocation works with: the loaded config and, on demand, the clients.
type run struct {
	g        *globals
	cfg      *mapping.Config
	log      *slog.Logger
	stateDir string

	// readLoadNoted: the warning that poll outruns read_rate was given.
	readLoadNoted bool

	onehub *onehub.Client
	// oneHubDown: OneHub failed and the passes read over REST (logged once).
	oneHubDown bool
	// counted is what the clients had done when the last pass's metrics were taken.
	counted requestCounts
	// exp holds the last pass's metrics for the metrics file and /metrics; lastSuccess is
	// when the last pass that finished started.
	exp         *exporter
	lastSuccess time.Time
	live        *livestate.Source

	tokens *graph.CachedTokenSource
	gc     *graph.Client
	sf     *starface.Client
}

// newRun loads the configuration (explicit overrides --config) and resolves the state directory.
func (g *globals) newRun(explicitConfig string) (*run, error) {
	path, err := g.configPath(explicitConfig)
	if err != nil {
		return nil, err
	}
	cfg, err := mapping.Load(path)
	if err != nil {
		return nil, err
	}
	cfg.Getenv = g.deps.Getenv
	dir := g.stateDir
	if dir == "" {
		if dir, err = state.DefaultDir(); err != nil {
			return nil, usagef("no state directory: %v; pass --state-dir", err)
		}
	}
	if err := checkStateDir(dir); err != nil {
		return nil, err
	}
	return &run{g: g, cfg: cfg, log: g.logger(), stateDir: dir}, nil
}

// checkStateDir refuses, before any request, a state directory that cannot be one: a file, or
// a path below a file. Found later, it cost a sign-in and came out as exit 1.
func checkStateDir(dir string) error {
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return nil // the directory, or the nearest existing parent it can be created in
		case err == nil && p == filepath.Clean(dir):
			return usagef("state directory %s is a file, not a directory; pass --state-dir DIR", p)
		case err == nil:
			return usagef("state directory %s cannot be created: %s is a file, not a directory; pass --state-dir DIR", dir, p)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return nil // e.g. permission denied: opening the state says so, with a hint
		}
		if filepath.Dir(p) == p {
			return nil
		}
	}
}

// authConfig turns the microsoft section into sign-in settings, reading the secret or certificate.
func (r *run) authConfig() (graph.AuthConfig, error) {
	m := r.cfg.Microsoft
	cloud, err := graph.ResolveCloud(m.Cloud, m.AuthorityHost, m.GraphEndpoint)
	if err != nil {
		return graph.AuthConfig{}, &usageError{fmt.Errorf("%s: microsoft: %w", r.cfg.File, err)}
	}
	ac := graph.AuthConfig{
		Cloud: cloud, Tenant: m.Tenant, ClientID: m.ClientID, Mode: m.Auth,
		CacheDir: r.stateDir, HTTPClient: r.g.deps.HTTPClient, Logger: r.log, Now: r.g.deps.Now,
		Scopes: r.delegatedScopes(cloud), Sleep: r.g.deps.Sleep,
	}
	switch m.Auth {
	case "client-secret":
		if ac.ClientSecret, err = r.cfg.ClientSecret(); err != nil {
			return ac, err
		}
	case "client-certificate":
		certs, key, err := graph.LoadCertificate(m.CertificateFile)
		if err != nil {
			return ac, &usageError{fmt.Errorf("%s: microsoft.certificate_file: %w", r.cfg.File, err)}
		}
		ac.Certificates, ac.PrivateKey = certs, key
	}
	return ac, nil
}

// delegatedScopes are the permissions a device-code sign-in asks for, per configured feature.
func (r *run) delegatedScopes(c graph.Cloud) []string {
	var s []string
	for _, p := range requiredPermissions(r.cfg) {
		s = append(s, c.GraphEndpoint+"/"+p)
	}
	return append(s, "offline_access")
}

// graphClient builds (once) the token source and the Graph client.
func (r *run) graphClient() (*graph.Client, error) {
	if r.gc != nil {
		return r.gc, nil
	}
	ac, err := r.authConfig()
	if err != nil {
		return nil, err
	}
	ts, err := graph.NewTokenSource(ac)
	if err != nil {
		return nil, err
	}
	r.tokens = ts
	r.gc = graph.NewClient(graph.Options{
		Endpoint: ac.Cloud.GraphEndpoint, Tokens: ts, HTTPClient: r.g.deps.HTTPClient,
		UserAgent: userAgent(), Logger: r.log, Concurrency: r.cfg.Microsoft.Concurrency,
		// A run waits out a Retry-After that ends within 10 s; a longer one ends the run (exit
		// 3) and is remembered, so that the runs before it make no Graph request (rule 5).
		MaxWait: graphMaxWait, Now: r.g.deps.Now, Sleep: r.g.deps.Sleep,
	})
	return r.gc, nil
}

// graphMaxWait is the longest Retry-After a run waits out (DESIGN.md rule 5).
const graphMaxWait = 10 * time.Second

// starfaceClient builds (once) the STARFACE client and prints its warnings on every run.
func (r *run) starfaceClient() (*starface.Client, error) {
	if r.sf != nil {
		return r.sf, nil
	}
	pw, err := r.cfg.StarfacePassword()
	if err != nil {
		return nil, err
	}
	secret, err := r.cfg.StarfaceClientSecret()
	if err != nil {
		return nil, err
	}
	c, err := r.newStarfaceClient(pw, secret)
	if err != nil {
		return nil, err
	}
	r.sf = c
	return c, nil
}

// newStarfaceClient builds a STARFACE client with the given password and OAuth client secret;
// logout builds one without either, since ending a cached session needs only the token.
func (r *run) newStarfaceClient(password, clientSecret string) (*starface.Client, error) {
	s := r.cfg.Starface
	c, err := starface.New(starface.Options{
		URL: s.URL, Login: s.Login, Password: password,
		Auth: s.Auth, ClientID: s.ClientID, ClientSecret: clientSecret, Scope: s.Scope,
		CAFile: s.CAFile, Fingerprint: s.Fingerprint,
		InsecureSkipVerify: s.InsecureSkipVerify, Concurrency: s.Concurrency, TokenCacheDir: r.stateDir,
		HTTPClient: r.g.deps.HTTPClient, UserAgent: userAgent(), Logger: r.log, Now: r.g.deps.Now,
		Sleep: r.g.deps.Sleep,
	})
	if err != nil {
		// err starts with "starface: " already.
		return nil, &usageError{fmt.Errorf("%s: %w", r.cfg.File, err)}
	}
	for _, w := range c.Warnings() {
		r.log.Warn(w)
	}
	return c, nil
}

// oneHub builds (once) the OneHub source of DND and call states when starface.onehub is on
// (STARFACE 10, experimental); nil when it is off. It signs in with the STARFACE client's OAuth
// token and trusts the PBX's certificate as the REST client does.
func (r *run) oneHub(ctx context.Context, sf *starface.Client) (*livestate.Source, error) {
	s := r.cfg.Starface
	if !s.OneHub {
		return nil, nil
	}
	if r.live != nil {
		return r.live, nil
	}
	target, err := onehub.DefaultTarget(s.URL)
	if s.OneHubURL != "" {
		target, err = onehub.TargetFromURL(s.OneHubURL)
	}
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: starface.onehub_url: %w", r.cfg.File, err)}
	}
	c, err := onehub.Dial(ctx, onehub.Options{Target: target, CAFile: s.CAFile, Fingerprint: s.Fingerprint,
		InsecureSkipVerify: s.InsecureSkipVerify, TLSConfig: r.g.deps.OneHubTLS, Tokens: sf, Logger: r.log, Now: r.g.deps.Now})
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: starface.onehub: %w", r.cfg.File, err)}
	}
	for _, w := range c.Warnings() {
		r.log.Warn(w)
	}
	r.onehub = c
	r.live = livestate.New(c, r.log)
	return r.live, nil
}

// close ends what the run opened: the OneHub connection.
func (r *run) close() {
	if r.live != nil {
		r.live.Stop()
	}
	if r.onehub != nil {
		r.onehub.Close()
	}
}

// progress is the progress line for this run: only on a terminal and never with -o json.
func (r *run) progress() *progress.Bar {
	return progress.New(r.g.deps.Stderr, r.g.deps.StderrIsTerminal && r.g.output != "json", r.g.deps.Now)
}

// clients builds both.
func (r *run) clients() (*graph.Client, *starface.Client, error) {
	gc, err := r.graphClient()
	if err != nil {
		return nil, nil, err
	}
	sf, err := r.starfaceClient()
	if err != nil {
		return nil, nil, err
	}
	return gc, sf, nil
}

// requiredPermissions are the Graph permissions the configured features need.
func requiredPermissions(cfg *mapping.Config) []string {
	p := []string{"Presence.Read.All", "User.Read.All"}
	if cfg.StarfaceToTeams.Enabled {
		p = append(p, "Presence.ReadWrite.All")
	}
	if cfg.Microsoft.Group != "" {
		p = append(p, "GroupMember.Read.All")
	}
	return p
}
