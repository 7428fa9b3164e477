// Package graph is teamsface's Microsoft Graph client: it signs in to Entra, reads the directory
// (users, nested group members) and Teams presence in bulk, and keeps teamsface's own presence
// session for a user.
//
// Every Graph call goes through one helper, Client.do, which adds the bearer token, a fresh
// client-request-id and the User-Agent, retries throttled answers (429, 503, 504) honouring
// Retry-After, renews a token Graph refused once, and turns Graph's error JSON into *Error.
// Business methods never sleep or retry by themselves.
package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamsface/teamsface/internal/ctxtime"
)

// TokenSource gives Graph access tokens; the sign-in code implements it.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// Invalidate drops a cached token Graph refused with 401, so the next Token call fetches a new one.
	Invalidate(token string)
}

// Options configure a Client. Only Endpoint and Tokens are required.
type Options struct {
	Endpoint    string       // Graph origin, e.g. https://graph.microsoft.com (no /v1.0; trailing slash tolerated)
	Tokens      TokenSource  // where access tokens come from
	HTTPClient  *http.Client // nil: a default client with sane timeouts
	UserAgent   string       // sent as User-Agent, e.g. "teamsface/1.2.3"
	Logger      *slog.Logger // nil: discard; Debug gets one line per request, never a token
	MaxAttempts int          // attempts per call for throttled or failed requests, default 5
	// MaxWait is the longest Retry-After a call sleeps through. When Graph asks for longer (or
	// for longer than the context's deadline leaves), the call does not sleep: it returns a
	// *ThrottledError at once and the client sends nothing more before that time. 0 means no
	// limit: every Retry-After is waited in full.
	MaxWait time.Duration
	// NotBefore: no request is sent before this time (see SetNotBefore). Zero: none.
	NotBefore time.Time
	// Concurrency is how many presence requests may be in flight, default 8. Graph allows 1,500
	// requests per 30 s per app and tenant; 10,000 users take 16 requests.
	Concurrency int
	// Now is the clock for Retry-After and NotBefore; nil: time.Now.
	Now func() time.Time
	// Sleep waits between attempts; the default is a timer that returns ctx.Err() early. Tests inject
	// one that records the durations asked for and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultConcurrency is the number of presence requests in flight when Options.Concurrency is 0.
const DefaultConcurrency = 8

// Client calls Microsoft Graph. It is safe for concurrent use.
type Client struct {
	endpoint    string // origin without trailing slash
	origin      *url.URL
	tokens      TokenSource
	hc          *http.Client
	userAgent   string
	log         *slog.Logger
	maxAttempts int
	maxWait     time.Duration
	concurrency int
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	notBefore time.Time // no request before it: Graph asked to wait (Retry-After) until then

	requests  atomic.Int64
	throttled atomic.Int64
}

// Stats counts what a Client did so far.
type Stats struct {
	Requests  int64 // HTTP requests sent, retries included
	Throttled int64 // answers with status 429, 503 or 504
}

// NewClient builds a Client. A malformed Endpoint is reported by the first call.
func NewClient(o Options) *Client {
	ep := strings.TrimRight(strings.TrimSpace(o.Endpoint), "/")
	// The configuration names an origin; tolerate an operator who pasted the versioned root.
	ep = strings.TrimSuffix(ep, "/v1.0")
	c := &Client{
		endpoint:    ep,
		tokens:      o.Tokens,
		hc:          o.HTTPClient,
		userAgent:   o.UserAgent,
		log:         o.Logger,
		maxAttempts: o.MaxAttempts,
		maxWait:     max(o.MaxWait, 0),
		concurrency: o.Concurrency,
		now:         o.Now,
		sleep:       o.Sleep,
		notBefore:   o.NotBefore,
	}
	if u, err := url.Parse(ep); err == nil && u.Scheme != "" && u.Host != "" {
		c.origin = u
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 5
	}
	if c.concurrency <= 0 {
		c.concurrency = DefaultConcurrency
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = ctxtime.Sleep
	}
	return c
}

// SetNotBefore makes every call before t return a *ThrottledError without sending anything: how
// a Retry-After remembered from an earlier run is honoured. It replaces what the client held; the
// zero time lifts it.
func (c *Client) SetNotBefore(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notBefore = t
}

// NotBefore is the time before which the client sends nothing (zero: none): the one set, or a
// later one Graph asked for in a Retry-After the client did not wait for. A caller keeps it
// across runs.
func (c *Client) NotBefore() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.notBefore
}

// holdOff refuses a call while Graph's wait lasts.
func (c *Client) holdOff() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.notBefore.IsZero() || !c.now().Before(c.notBefore) {
		return nil
	}
	return &ThrottledError{Until: c.notBefore}
}

// throttle remembers that Graph wants nothing before until, and says so.
func (c *Client) throttle(until time.Time, gerr *Error, attempts int) error {
	c.mu.Lock()
	if until.After(c.notBefore) {
		c.notBefore = until
	}
	c.mu.Unlock()
	c.log.Debug("graph: throttled; nothing is sent before the time Graph asked for", "until", until, "retry_after", gerr.RetryAfter)
	return &ThrottledError{Until: until, Err: gerr, asked: until.Add(-gerr.RetryAfter), attempts: attempts}
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Throttled: c.throttled.Load()}
}

func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 30 * time.Second
	tr.MaxIdleConnsPerHost = 8
	// A page of 999 users is a few hundred kB; a minute covers a slow link without letting a stuck
	// connection hang a cron run for ever.
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// call is one logical Graph request; do may send it several times.
type call struct {
	method string
	url    string            // absolute
	body   any               // marshalled as JSON when non-nil
	header map[string]string // extra headers, e.g. ConsistencyLevel
}

// do sends c, retrying as Graph asks, and decodes a 2xx JSON answer into out (when out is non-nil).
// A non-2xx answer comes back as *Error (possibly wrapped with why retrying stopped), a wait
// Graph asked for and this call will not make as *ThrottledError. Every caller wraps do's error
// with wrapOp, which names the service once.
func (c *Client) do(ctx context.Context, r call, out any) error {
	if c.tokens == nil {
		return errors.New("no token source configured")
	}
	if c.origin == nil {
		return fmt.Errorf("endpoint %q is not an absolute URL", c.endpoint)
	}
	// A request that cannot even be built (a malformed next link) must not be retried like a
	// network failure.
	if _, err := http.NewRequestWithContext(ctx, r.method, r.url, nil); err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	// Before the token too: a sign-in is no use while Graph takes nothing.
	if err := c.holdOff(); err != nil {
		return err
	}
	tok, err := c.token(ctx)
	if err != nil {
		return err
	}
	renewed := false
	for attempt := 1; ; {
		// Checked before every attempt: another call (a parallel presence range) may have learnt
		// meanwhile that Graph wants nothing before a later time.
		if err := c.holdOff(); err != nil {
			return err
		}
		resp, err := c.send(ctx, r, body, tok, attempt)
		if err != nil {
			if ctx.Err() != nil || !retryableTransportError(err) || attempt >= c.maxAttempts {
				return err
			}
			if werr := c.wait(ctx, c.backoff(attempt), err); werr != nil {
				return werr
			}
			attempt++
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return decodeBody(resp, out)
		}
		gerr := readError(resp, c.now())
		switch {
		case gerr.Status == http.StatusUnauthorized && !renewed:
			// Usually InvalidAuthenticationToken: the cached token expired or was revoked early.
			// Renewing once is cheap and bounded; a second 401 is a real refusal. This does not
			// count as an attempt, as the service itself is not failing.
			renewed = true
			c.tokens.Invalidate(tok)
			if tok, err = c.token(ctx); err != nil {
				return err
			}
		case retryableStatus(gerr.Status) && gerr.RetryAfter > 0:
			// Graph named the time: honour it in full (DESIGN rule 5). What this call will not
			// wait for, no later call may ignore either, so the time is kept (NotBefore).
			d := gerr.RetryAfter
			if attempt >= c.maxAttempts || (c.maxWait > 0 && d > c.maxWait) || pastDeadline(ctx, d) {
				return c.throttle(c.now().Add(d), gerr, attempt)
			}
			if err := c.sleep(ctx, d); err != nil {
				return fmt.Errorf("%w (while waiting to retry: %w)", gerr, err)
			}
			attempt++
		case retryableStatus(gerr.Status):
			if attempt >= c.maxAttempts {
				return fmt.Errorf("%w (gave up after %d attempts)", gerr, attempt)
			}
			// No (usable) Retry-After: back off anyway, as throttled requests still cost quota.
			if werr := c.wait(ctx, c.backoff(attempt), gerr); werr != nil {
				return werr
			}
			attempt++
		default:
			return gerr
		}
	}
}

// pastDeadline reports whether waiting d would outlast ctx's deadline (real time, as deadlines are).
func pastDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < d
}

// token asks the token source. Its errors name the service already ("graph: renew sign-in:
// ..."); wrapOp keeps that to one mention when the caller wraps again.
func (c *Client) token(ctx context.Context) (string, error) {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return "", wrapOp("get access token", err)
	}
	if tok == "" {
		return "", wrapOp("get access token", errors.New("token source returned an empty token"))
	}
	return tok, nil
}

// wait sleeps a backoff d before the next attempt, unless the context's deadline comes first:
// then sleeping is pointless and cause is returned at once, saying why no retry was made.
func (c *Client) wait(ctx context.Context, d time.Duration, cause error) error {
	if pastDeadline(ctx, d) {
		return fmt.Errorf("%w (not retrying: waiting %s would pass the deadline)", cause, d)
	}
	if err := c.sleep(ctx, d); err != nil {
		return fmt.Errorf("%w (while waiting to retry: %w)", cause, err)
	}
	return nil
}

// send makes one HTTP attempt and logs it. The Authorization header is never logged.
func (c *Client) send(ctx context.Context, r call, body []byte, tok string, attempt int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	crid := newGUID()
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("client-request-id", crid)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	start := time.Now()
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	dur := time.Since(start)
	if err != nil {
		c.log.DebugContext(ctx, "graph request", "method", r.method, "path", req.URL.Path, "attempt", attempt,
			"duration", dur, "client_request_id", crid, "error", err)
		return nil, err
	}
	if retryableStatus(resp.StatusCode) {
		c.throttled.Add(1)
	}
	if resp.Header.Get("client-request-id") == "" {
		// So that readError can report the id we sent even when Graph did not echo it.
		resp.Header.Set("client-request-id", crid)
	}
	c.log.DebugContext(ctx, "graph request", "method", r.method, "path", req.URL.Path, "attempt", attempt,
		"status", resp.StatusCode, "duration", dur,
		"request_id", resp.Header.Get("request-id"), "client_request_id", crid)
	return resp, nil
}

// maxBody bounds what is read of an answer; Graph's largest page (999 users) is far below it.
const maxBody = 64 << 20

func decodeBody(resp *http.Response, out any) error {
	defer closeBody(resp)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("decode %d answer: %w", resp.StatusCode, err)
	}
	return nil
}

// closeBody drains and closes, so the connection can be reused.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
}

// url joins the endpoint with a path that starts with /v1.0/ and a raw query (may be "").
func (c *Client) url(path, rawQuery string) string {
	if rawQuery == "" {
		return c.endpoint + path
	}
	return c.endpoint + path + "?" + rawQuery
}

// sameOrigin reports whether next points at the configured Graph origin: an @odata.nextLink is
// followed with the bearer token attached, so it must never lead elsewhere.
func (c *Client) sameOrigin(next string) bool {
	u, err := url.Parse(next)
	if err != nil || c.origin == nil {
		return false
	}
	return strings.EqualFold(u.Scheme, c.origin.Scheme) && strings.EqualFold(u.Host, c.origin.Host)
}

// newGUID returns a random (version 4) GUID for client-request-id.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
