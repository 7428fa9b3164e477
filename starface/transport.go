package starface

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// maxBody bounds what is read from one answer; 10,000 users are about 4 MB of JSON.
const maxBody = 64 << 20

// do sends one authenticated API call and returns a 2xx answer's body for the caller's
// decoder (decode.go). A 401 means the token died (expired, logged out, revoked, PBX
// restarted): the token is dropped, a new one is obtained once (an OAuth refresh, else a new
// sign-in) and the call is repeated once.
func (c *Client) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body []byte
	switch v := in.(type) {
	case nil:
	case rawBody:
		body = v
	default:
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	for renewed := false; ; renewed = true {
		cr, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		status, resp, err := c.send(ctx, method, path, cr, body)
		if err != nil {
			return nil, err
		}
		if status == http.StatusUnauthorized && !renewed {
			c.dropToken(cr.token)
			continue
		}
		if status < 200 || status > 299 {
			p, _, _ := strings.Cut(path, "?")
			return nil, newError(status, method, p, resp)
		}
		return resp, nil
	}
}

// rawBody is a request body that is already JSON: do sends it as it is. json.Marshal would
// compact it and escape HTML characters, and a redirect goes back byte for byte as read.
type rawBody []byte

// outgoing is one HTTP request before it is sent.
type outgoing struct {
	method string
	url    string // absolute
	header http.Header
	body   []byte
}

// send performs one /rest request with the headers every REST call carries (X-Version: 2,
// JSON, the credential in cr; none for the classic login itself) and returns the final status
// and body.
func (c *Client) send(ctx context.Context, method, path string, cr credential, body []byte) (int, []byte, error) {
	h := http.Header{}
	h.Set("X-Version", "2")
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	cr.apply(h)
	status, _, resp, err := c.exchange(ctx, outgoing{method: method, url: c.base + path, header: h, body: body})
	return status, resp, err
}

// exchange sends a request with retries and returns the final status, headers and body. Only
// GET is retried: it changes nothing, so repeating it after a 5xx or a dropped connection is
// harmless. PUT and POST are sent once; a failed write is reported and retried by the next
// pass after a fresh read, rather than blindly repeated here over a config that may have
// changed in between.
func (c *Client) exchange(ctx context.Context, o outgoing) (int, http.Header, []byte, error) {
	retries := 0
	if o.method == http.MethodGet {
		retries = c.retries
	}
	for attempt := 0; ; attempt++ {
		status, hdr, resp, err := c.sendOnce(ctx, o, attempt)
		if attempt >= retries || !shouldRetry(ctx, status, err) {
			return status, hdr, resp, err
		}
		c.nRetries.Add(1)
		// 250ms, 1s: a small appliance restarting a service needs a moment, a cron run
		// every 10 s cannot wait long.
		if serr := c.sleep(ctx, time.Duration(250<<(2*attempt))*time.Millisecond); serr != nil {
			if err == nil {
				err = serr
			}
			return status, hdr, resp, err
		}
	}
}

// sendOnce sends one attempt and logs one debug line: method, path (never the query, a
// header or a body: they may hold credentials), status, duration.
func (c *Client) sendOnce(ctx context.Context, o outgoing, attempt int) (int, http.Header, []byte, error) {
	var rd io.Reader
	if o.body != nil {
		rd = bytes.NewReader(o.body)
	}
	req, err := http.NewRequestWithContext(ctx, o.method, o.url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range o.header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	path := req.URL.Path
	start := time.Now()
	c.nRequests.Add(1)
	res, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "starface request", "method", o.method, "path", path, "status", 0,
			"duration", time.Since(start), "attempt", attempt+1, "error", err)
		return 0, nil, nil, unwrapURLError(err)
	}
	defer res.Body.Close()
	resp, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	attrs := []any{"method", o.method, "path", path, "status", res.StatusCode, "duration", time.Since(start), "attempt", attempt + 1}
	if res.Request != nil && res.Request.URL.Path != path {
		attrs = append(attrs, "redirected_to", res.Request.URL.Path)
	}
	c.log.DebugContext(ctx, "starface request", attrs...)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w", err)
	}
	return res.StatusCode, res.Header, resp, nil
}

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats the full URL, and
// keeps the cause (a FingerprintError, an x509 error, a timeout) reachable with errors.As.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// shouldRetry decides about one failed attempt: 5xx answers and transient network failures
// are worth another try; TLS and certificate failures, 4xx and a cancelled context are not.
func shouldRetry(ctx context.Context, status int, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err == nil {
		return status >= 500 && status <= 599
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
