// Package starface is teamsface's client for the STARFACE PBX REST API (see
// ../shared/api/starface.md): the sign-in (the classic nonce login, or STARFACE 10's OAuth
// password grant, chosen per PBX) with its tokens cached across runs, the user and group
// lists, the per-user phone config whose doNotDisturb flag is the one presence state the
// REST API can write, and, for out of office, the users' call redirects (redirect.go,
// behalf.go) and the voicemail boxes they can point at (voicemail.go).
//
// Every request goes through one helper (Client.do) that adds the credential (authToken, or
// Authorization: Bearer) and X-Version headers, logs one debug line without secrets, retries
// idempotent GETs on 5xx and transient network errors, and renews the token once on a 401.
// Business methods never sleep or retry themselves. The client does not bound the requests in flight: its caller does (the sync pass
// runs its STARFACE requests through errgroup.SetLimit(starface.concurrency)).
package starface

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/teamsface/teamsface/internal/ctxtime"
)

// Options configure a Client. URL and Login are required.
type Options struct {
	// URL is the PBX base URL (https://pbx.example.com); a trailing "/" or "/rest" is tolerated.
	URL string
	// Login is the administrator's login id ("0001"), Password its password.
	Login, Password string
	// Auth is the sign-in method: AuthAuto (default: OAuth when ClientSecret is set and the
	// PBX's discovery answers, else the classic login), MethodClassic or MethodOAuth.
	Auth string
	// ClientID is the OAuth client (default DefaultClientID, rest-client-headless).
	ClientID string
	// ClientSecret is that client's secret from Server → Status → REST-API; "" = none.
	ClientSecret string
	// Scope is the OAuth scope (default DefaultScope, pbx-login); on invalid_scope the other
	// known value (login) is tried once.
	Scope string
	// CAFile is an optional PEM bundle. When set it replaces the system roots (like curl --cacert).
	CAFile string
	// Fingerprint is an optional SHA-256 of the PBX leaf certificate's DER, hex in either case,
	// colons or spaces optional. When set the pin alone decides trust: a self-signed
	// certificate works and neither CAFile nor the host name are checked.
	Fingerprint string
	// InsecureSkipVerify turns certificate checks off (last resort; Warnings reports it).
	InsecureSkipVerify bool
	// Concurrency is how many requests the caller runs at once (default 4). It sizes the pool
	// of idle connections kept to the PBX; it does not bound anything: the caller does that
	// (the sync pass with errgroup.SetLimit), so the same requests are not bounded twice.
	Concurrency int
	// TokenCacheDir is where token-starface.json is kept (file 0600, directory 0700).
	// "" keeps the token in memory only.
	TokenCacheDir string
	// HTTPClient replaces the client New builds (tests). The TLS options above are then not
	// applied: the given client's transport decides trust.
	HTTPClient *http.Client
	// Timeout bounds one HTTP request (default 30s). Ignored when HTTPClient is set.
	Timeout time.Duration
	// UserAgent is sent with every request (default "teamsface").
	UserAgent string
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
	// Now is the clock for token age (default time.Now).
	Now func() time.Time
	// MaxRetries is how often a failed idempotent GET is repeated (default 2; negative: never).
	MaxRetries int
	// Sleep waits between retries (default: a timer that honours ctx). Tests inject a no-op.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one STARFACE. It is safe for concurrent use.
type Client struct {
	base     string // scheme://host[:port][/prefix], without /rest
	login    string
	password string
	mode     string // AuthAuto, MethodClassic or MethodOAuth
	clientID string
	secret   string
	scope    string
	hc       *http.Client
	ua       string
	log      *slog.Logger
	now      func() time.Time
	retries  int
	sleep    func(context.Context, time.Duration) error
	cacheDir string
	warnings []string

	tok    tokenState
	logins singleflight.Group // many goroutines needing a token at once cause one renewal
	// concurrency is how many requests the caller keeps in flight (Options.Concurrency); the
	// client's own fan-outs (voicemail box details) keep to it too.
	concurrency int
	behalf      behalfState // the actOnBehalfOf form this PBX takes (behalf.go)

	nRequests  atomic.Int64
	nLogins    atomic.Int64
	nRefreshes atomic.Int64
	nRetries   atomic.Int64
}

// Stats counts what a Client did, for run summaries and tests.
type Stats struct {
	Requests  int64 // HTTP requests sent, sign-ins and retries included
	Logins    int64 // successful sign-ins: classic logins and OAuth password grants
	Refreshes int64 // successful OAuth refresh grants
	Retries   int64 // requests repeated after a 5xx or a network error
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.nRequests.Load(), Logins: c.nLogins.Load(), Refreshes: c.nRefreshes.Load(), Retries: c.nRetries.Load()}
}

// Warnings lists configuration choices that weaken security; cmd prints them on every run.
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

// New validates the options and builds the client. It does not contact the PBX.
func New(o Options) (*Client, error) {
	base, err := normalizeURL(o.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(o.Login) == "" {
		return nil, errors.New("starface: no login configured")
	}
	c := &Client{
		base:     base,
		login:    o.Login,
		password: o.Password,
		ua:       o.UserAgent,
		log:      o.Logger,
		now:      o.Now,
		retries:  o.MaxRetries,
		sleep:    o.Sleep,
		cacheDir: o.TokenCacheDir,
		mode:     o.Auth,
		clientID: o.ClientID,
		secret:   o.ClientSecret,
		scope:    o.Scope,
	}
	switch c.mode {
	case "":
		c.mode = AuthAuto
	case AuthAuto, MethodClassic, MethodOAuth:
	default:
		return nil, fmt.Errorf("starface: auth %q is not valid; use auto, classic or oauth", o.Auth)
	}
	if c.clientID == "" {
		c.clientID = DefaultClientID
	}
	if c.scope == "" {
		c.scope = DefaultScope
	}
	n := o.Concurrency
	if n <= 0 {
		n = 4
	}
	c.concurrency = n
	if c.ua == "" {
		c.ua = "teamsface"
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	switch {
	case c.retries == 0:
		c.retries = 2
	case c.retries < 0:
		c.retries = 0
	}
	if c.sleep == nil {
		c.sleep = ctxtime.Sleep
	}
	if strings.HasPrefix(base, "http://") {
		c.warnings = append(c.warnings, "starface: url uses http://, the password or login secret and the tokens travel in clear text")
	}
	if o.HTTPClient != nil {
		c.hc = o.HTTPClient
		return c, nil
	}
	tc, warn, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	c.warnings = append(c.warnings, warn...)
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = n
	c.hc = &http.Client{Transport: tr, Timeout: timeout}
	return c, nil
}

// normalizeURL accepts https://pbx, https://pbx/, https://pbx/rest and https://pbx/rest/ and
// returns the base without /rest and without a trailing slash.
func normalizeURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("starface: no url configured")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("starface: invalid url %q: %v", raw, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("starface: invalid url %q: scheme must be https or http", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("starface: invalid url %q: no host", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("starface: invalid url %q: no user info, query or fragment allowed", raw)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/rest")
	p = strings.TrimRight(p, "/")
	return u.Scheme + "://" + u.Host + p, nil
}
