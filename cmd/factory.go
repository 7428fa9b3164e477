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

	"github.com/teamsface/teamsface/cmd/internal/onehubstate"
	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/cmd/internal/progress"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/state"
)

// factory builds what a command works with, from the flags and the environment, each on first
// use (cli/cli's Factory): the configuration and its clients, the state directory and the
// runner that holds it. It wires; it decides nothing and touches no file of the state directory.
type factory struct {
	g   *globals
	dir string // the state directory
	log *slog.Logger
	// svc is the configuration with its clients; a reload (SIGHUP) swaps the whole value.
	svc *services

	rn *pass.Runner
}

// factory loads the configuration (explicit overrides --config) and resolves the state
// directory. A state directory another user owns is refused here, before any request or file.
func (g *globals) factory(explicitConfig string) (*factory, error) {
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
	// Before any client is built: they read and write their token caches in it.
	if err := state.CheckOwner(dir); err != nil {
		var oe *state.OwnerError
		if errors.As(err, &oe) {
			oe.Args = g.args
		}
		return nil, err
	}
	f := &factory{g: g, dir: dir, log: g.logger()}
	f.svc = &services{f: f, cfg: cfg}
	return f, nil
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

// cfg is the running configuration.
func (f *factory) cfg() *mapping.Config { return f.svc.cfg }

// runner is the protocol every command runs by, on this state directory.
func (f *factory) runner() *pass.Runner {
	if f.rn == nil {
		f.rn = &pass.Runner{Dir: f.dir, LockTimeout: f.g.lockTimeout, Log: f.log, Now: f.g.deps.Now}
	}
	return f.rn
}

// open opens a run on the state directory.
func (f *factory) open(o pass.OpenOptions) (*pass.Run, error) { return f.runner().Open(o) }

// progress is the progress line for this run: only on a terminal and never with -o json.
func (f *factory) progress() *progress.Bar {
	return progress.New(f.g.deps.Stderr, f.g.deps.StderrIsTerminal && f.g.output != "json", f.g.deps.Now)
}

// env is what a pass runs with: the running configuration and its two clients (built now if
// they were not yet). interval is how often passes run.
func (f *factory) env(interval time.Duration) (pass.Env, error) {
	s := f.svc
	gc, err := s.graphClient()
	if err != nil {
		return pass.Env{}, err
	}
	sf, err := s.starfaceClient()
	if err != nil {
		return pass.Env{}, err
	}
	return pass.Env{Config: s.cfg, Graph: gc, Starface: sf, Log: f.log, Now: f.g.deps.Now,
		Interval: interval, Progress: f.progress()}, nil
}

// liveEnv is env with STARFACE 10's OneHub as the source of DND and call states, when
// starface.onehub is on: for the commands that read them (sync, presence get).
func (f *factory) liveEnv(ctx context.Context, interval time.Duration) (pass.Env, error) {
	env, err := f.env(interval)
	if err != nil {
		return env, err
	}
	live, err := f.svc.oneHub(ctx)
	if err != nil {
		return pass.Env{}, err
	}
	if live != nil {
		env.OneHub = live
	}
	return env, nil
}

// services are the clients one configuration makes, each built on first use. A reload builds
// the next value beside the running one and swaps the whole of it.
type services struct {
	f   *factory
	cfg *mapping.Config

	tokens *graph.CachedTokenSource
	graph  *graph.Client
	sf     *starface.Client
	onehub *onehub.Client
	live   *onehubstate.Source
}

// authConfig turns the microsoft section into sign-in settings, reading the secret or certificate.
func (s *services) authConfig() (graph.AuthConfig, error) {
	m, deps := s.cfg.Microsoft, s.f.g.deps
	cloud, err := graph.ResolveCloud(m.Cloud, m.AuthorityHost, m.GraphEndpoint)
	if err != nil {
		return graph.AuthConfig{}, &usageError{fmt.Errorf("%s: microsoft: %w", s.cfg.File, err)}
	}
	ac := graph.AuthConfig{
		Cloud: cloud, Tenant: m.Tenant, ClientID: m.ClientID, Mode: m.Auth,
		CacheDir: s.f.dir, HTTPClient: deps.HTTPClient, Logger: s.f.log, Now: deps.Now,
		Scopes: delegatedScopes(s.cfg, cloud), Sleep: deps.Sleep,
	}
	switch m.Auth {
	case "client-secret":
		if ac.ClientSecret, err = s.cfg.ClientSecret(); err != nil {
			return ac, err
		}
	case "client-certificate":
		certs, key, err := graph.LoadCertificate(m.CertificateFile)
		if err != nil {
			return ac, &usageError{fmt.Errorf("%s: microsoft.certificate_file: %w", s.cfg.File, err)}
		}
		ac.Certificates, ac.PrivateKey = certs, key
	}
	return ac, nil
}

// delegatedScopes are the permissions a device-code sign-in asks for, per configured feature.
func delegatedScopes(cfg *mapping.Config, c graph.Cloud) []string {
	var out []string
	for _, p := range requiredPermissions(cfg) {
		out = append(out, c.GraphEndpoint+"/"+p)
	}
	return append(out, "offline_access")
}

// graphClient builds (once) the token source and the Graph client.
func (s *services) graphClient() (*graph.Client, error) {
	if s.graph != nil {
		return s.graph, nil
	}
	ac, err := s.authConfig()
	if err != nil {
		return nil, err
	}
	ts, err := graph.NewTokenSource(ac)
	if err != nil {
		return nil, err
	}
	deps := s.f.g.deps
	s.tokens = ts
	s.graph = graph.NewClient(graph.Options{
		Endpoint: ac.Cloud.GraphEndpoint, Tokens: ts, HTTPClient: deps.HTTPClient,
		UserAgent: userAgent(), Logger: s.f.log, Concurrency: s.cfg.Microsoft.Concurrency,
		// A run waits out a Retry-After that ends within 10 s; a longer one ends the run (exit
		// 3) and is remembered, so that the runs before it make no Graph request (rule 5).
		MaxWait: graphMaxWait, Now: deps.Now, Sleep: deps.Sleep,
	})
	return s.graph, nil
}

// graphMaxWait is the longest Retry-After a run waits out (DESIGN.md rule 5).
const graphMaxWait = 10 * time.Second

// starfaceClient builds (once) the STARFACE client and prints its warnings on every run.
func (s *services) starfaceClient() (*starface.Client, error) {
	if s.sf != nil {
		return s.sf, nil
	}
	pw, err := s.cfg.StarfacePassword()
	if err != nil {
		return nil, err
	}
	secret, err := s.cfg.StarfaceClientSecret()
	if err != nil {
		return nil, err
	}
	c, err := s.newStarfaceClient(pw, secret)
	if err != nil {
		return nil, err
	}
	s.sf = c
	return c, nil
}

// newStarfaceClient builds a STARFACE client with the given password and OAuth client secret;
// logout builds one without either, since ending a cached session needs only the token.
func (s *services) newStarfaceClient(password, clientSecret string) (*starface.Client, error) {
	sc, deps := s.cfg.Starface, s.f.g.deps
	c, err := starface.New(starface.Options{
		URL: sc.URL, Login: sc.Login, Password: password,
		Auth: sc.Auth, ClientID: sc.ClientID, ClientSecret: clientSecret, Scope: sc.Scope,
		CAFile: sc.CAFile, Fingerprint: sc.Fingerprint,
		InsecureSkipVerify: sc.InsecureSkipVerify, Concurrency: sc.Concurrency, TokenCacheDir: s.f.dir,
		HTTPClient: deps.HTTPClient, UserAgent: userAgent(), Logger: s.f.log, Now: deps.Now,
		Sleep: deps.Sleep,
	})
	if err != nil {
		// err starts with "starface: " already.
		return nil, &usageError{fmt.Errorf("%s: %w", s.cfg.File, err)}
	}
	for _, w := range c.Warnings() {
		s.f.log.Warn(w)
	}
	return c, nil
}

// oneHub builds (once) the OneHub source of DND and call states when starface.onehub is on
// (STARFACE 10, experimental); nil when it is off. It signs in with the STARFACE client's OAuth
// token and trusts the PBX's certificate as the REST client does.
func (s *services) oneHub(ctx context.Context) (*onehubstate.Source, error) {
	sc := s.cfg.Starface
	if !sc.OneHub {
		return nil, nil
	}
	if s.live != nil {
		return s.live, nil
	}
	sf, err := s.starfaceClient()
	if err != nil {
		return nil, err
	}
	target, err := onehub.DefaultTarget(sc.URL)
	if sc.OneHubURL != "" {
		target, err = onehub.TargetFromURL(sc.OneHubURL)
	}
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: starface.onehub_url: %w", s.cfg.File, err)}
	}
	c, err := onehub.Dial(ctx, onehub.Options{Target: target, CAFile: sc.CAFile, Fingerprint: sc.Fingerprint,
		InsecureSkipVerify: sc.InsecureSkipVerify, TLSConfig: s.f.g.deps.OneHubTLS, Tokens: sf, Logger: s.f.log, Now: s.f.g.deps.Now})
	if err != nil {
		return nil, &usageError{fmt.Errorf("%s: starface.onehub: %w", s.cfg.File, err)}
	}
	for _, w := range c.Warnings() {
		s.f.log.Warn(w)
	}
	s.onehub = c
	s.live = onehubstate.New(c, s.f.log)
	return s.live, nil
}

// close ends what the services opened: the OneHub connection.
func (s *services) close() {
	if s.live != nil {
		s.live.Stop()
	}
	if s.onehub != nil {
		s.onehub.Close()
	}
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
