package graph

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff bounds when Graph gave no Retry-After: 1s, 2s, 4s, ... up to 30s, each with jitter.
const (
	backoffBase = time.Second
	backoffMax  = 30 * time.Second
)

// retryableStatus: Graph's throttling (429) and transient unavailability (503, 504). Per Graph's
// throttling guidance the decision rests on the status, never on error.code.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableTransportError: a dropped connection or timeout may heal; a certificate that does not
// verify will not, and retrying it only delays the clear message the operator needs.
func retryableTransportError(err error) bool {
	var (
		verr  *tls.CertificateVerificationError
		uerr  x509.UnknownAuthorityError
		herr  x509.HostnameError
		cerr  x509.CertificateInvalidError
		rerr  tls.RecordHeaderError
		alert tls.AlertError
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &uerr), errors.As(err, &herr),
		errors.As(err, &cerr), errors.As(err, &rerr), errors.As(err, &alert):
		return false
	}
	return true
}

// backoff is the wait before attempt+1 after attempt failed: exponential with "equal jitter"
// (half fixed, half random), so many clients throttled together do not come back together.
func (c *Client) backoff(attempt int) time.Duration {
	return backoffFor(attempt, rand.Float64())
}

func backoffFor(attempt int, r float64) time.Duration {
	d := backoffMax
	if attempt >= 1 && attempt <= 6 {
		d = min(backoffBase<<(attempt-1), backoffMax)
	}
	half := d / 2
	return half + time.Duration(r*float64(half))
}

// maxRetryAfter bounds a Retry-After as read: a day is far beyond anything Graph asks for, and
// keeps a garbled header from overflowing a time.Duration.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After as seconds (what Graph sends) or as an HTTP date.
// It returns 0 when absent or unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		// Clamped only to avoid overflow; Client.do waits it in full or up to Options.MaxWait.
		return time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		// A date years ahead would otherwise read as centuries (Sub saturates) and be waited.
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
