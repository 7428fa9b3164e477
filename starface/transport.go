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
	"syscall"
	"time"
)

// maxBody bounds what is read from one answer; 10,000 users are about 4 MB of JSON.
const maxBody = 64 << 20

// do sends one authenticated API call and returns a 2xx answer's body for the caller's
// decoder (decode.go). A 401 means the token died (expired, logged out, PBX restarted): the
// token is dropped, a new one is obtained once and the call is repeated once.
func (c *Client) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	for relogged := false; ; relogged = true {
		tok, err := c.token(ctx)
		if err != nil {
			return nil, err
		}
		status, resp, err := c.send(ctx, method, path, tok, body)
		if err != nil {
			return nil, err
		}
		if status == http.StatusUnauthorized && !relogged {
			c.dropToken(tok)
			continue
		}
		if status < 200 || status > 299 {
			return nil, newError(status, method, path, resp)
		}
		return resp, nil
	}
}

// send performs one request with retries and returns the final status and body. tok "" sends
// no authToken (the login endpoint). Only GET is retried: it changes nothing, so repeating it
// after a 5xx or a dropped connection is harmless. PUT and POST are sent once; a failed write
// is reported and retried by the next pass after a fresh read, rather than blindly repeated
// here over a config that may have changed in between.
func (c *Client) send(ctx context.Context, method, path, tok string, body []byte) (int, []byte, error) {
	retries := 0
	if method == http.MethodGet {
		retries = c.retries
	}
	for attempt := 0; ; attempt++ {
		status, resp, err := c.sendOnce(ctx, method, path, tok, body, attempt)
		if attempt >= retries || !shouldRetry(ctx, status, err) {
			return status, resp, err
		}
		c.nRetries.Add(1)
		// 250ms, 1s: a small appliance restarting a service needs a moment, a cron run
		// every 10 s cannot wait long.
		if serr := c.sleep(ctx, time.Duration(250<<(2*attempt))*time.Millisecond); serr != nil {
			if err == nil {
				err = serr
			}
			return status, resp, err
		}
	}
}

func (c *Client) sendOnce(ctx context.Context, method, path, tok string, body []byte, attempt int) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Version", "2")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("authToken", tok)
	}
	start := time.Now()
	c.nRequests.Add(1)
	res, err := c.hc.Do(req)
	if err != nil {
		c.log.DebugContext(ctx, "starface request", "method", method, "path", path, "status", 0,
			"duration", time.Since(start), "attempt", attempt+1, "error", err)
		return 0, nil, unwrapURLError(err)
	}
	defer res.Body.Close()
	resp, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	c.log.DebugContext(ctx, "starface request", "method", method, "path", path, "status", res.StatusCode,
		"duration", time.Since(start), "attempt", attempt+1)
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return res.StatusCode, resp, nil
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
