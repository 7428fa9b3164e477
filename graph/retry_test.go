package graph

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	for _, tt := range []struct {
		attempt  int
		r        float64
		want     time.Duration
		lo, hi   time.Duration
		describe string
	}{
		{attempt: 1, r: 0, want: 500 * time.Millisecond},
		{attempt: 1, r: 1, want: time.Second},
		{attempt: 2, r: 0.5, want: 1500 * time.Millisecond},
		{attempt: 4, r: 0, want: 4 * time.Second},
		{attempt: 6, r: 1, want: 30 * time.Second},  // 32s capped
		{attempt: 60, r: 1, want: 30 * time.Second}, // no overflow
	} {
		if got := backoffFor(tt.attempt, tt.r); got != tt.want {
			t.Errorf("backoffFor(%d, %v) = %v, want %v", tt.attempt, tt.r, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"2", 2 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"", 0},
		{"soon", 0},
		{"99999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", 24 * time.Hour},
	} {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRetryableTransportError(t *testing.T) {
	if retryableTransportError(x509.UnknownAuthorityError{}) {
		t.Error("an untrusted certificate is retried")
	}
	if !retryableTransportError(io.ErrUnexpectedEOF) {
		t.Error("a dropped connection is not retried")
	}
}

func TestISODuration(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Minute, "PT5M"},
		{15 * time.Minute, "PT15M"},
		{90 * time.Minute, "PT1H30M"},
		{4 * time.Hour, "PT4H"},
		{5*time.Minute + 30*time.Second + 400*time.Millisecond, "PT5M30S"},
		{0, "PT0S"},
	} {
		if got := isoDuration(tt.in); got != tt.want {
			t.Errorf("isoDuration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadError(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   Error
		msg    string
	}{
		{
			name:   "ids from innerError",
			status: 404,
			body:   `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{"date":"2025-03-01T09:00:00","request-id":"rid","client-request-id":"cid"}}}`,
			want:   Error{Status: 404, Code: "Request_ResourceNotFound", Message: "Resource 'x' does not exist.", RequestID: "rid", ClientRequestID: "cid"},
			msg:    "graph: 404 Not Found: Resource 'x' does not exist (code Request_ResourceNotFound, request-id rid, client-request-id cid)",
		},
		{
			name:   "header request-id wins, Retry-After read",
			status: 429,
			header: map[string]string{"request-id": "hdr", "Retry-After": "7"},
			body:   `{"error":{"code":"TooManyRequests","message":"Too many requests","innerError":{"request-id":"inner"}}}`,
			want:   Error{Status: 429, Code: "TooManyRequests", Message: "Too many requests", RequestID: "hdr", RetryAfter: 7 * time.Second},
			msg:    "graph: 429 Too Many Requests: Too many requests (code TooManyRequests, request-id hdr)",
		},
		{
			name:   "not JSON",
			status: 502,
			body:   `<html>Bad gateway</html>`,
			want:   Error{Status: 502},
			msg:    "graph: 502 Bad Gateway",
		},
		{
			name:   "unknown fields ignored",
			status: 400,
			body:   `{"error":{"code":"BadRequest","message":"m","details":[{"x":1}],"innerError":{"new":true}},"extra":1}`,
			want:   Error{Status: 400, Code: "BadRequest", Message: "m"},
			msg:    "graph: 400 Bad Request: m (code BadRequest)",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			for k, v := range tt.header {
				resp.Header.Set(k, v)
			}
			got := readError(resp, time.Now())
			if *got != tt.want {
				t.Errorf("readError = %+v, want %+v", *got, tt.want)
			}
			if got.Error() != tt.msg {
				t.Errorf("Error() = %q, want %q", got.Error(), tt.msg)
			}
		})
	}
}

func TestOpErrorKeepsCause(t *testing.T) {
	cause := &Error{Status: 403}
	err := wrapOp("list users (page 2)", cause)
	var ge *Error
	if !errors.As(err, &ge) || ge != cause || !IsAuth(err) {
		t.Error("the *Error is not reachable through the wrapper")
	}
	if got := err.Error(); got != "graph: list users (page 2): 403 Forbidden" {
		t.Errorf("Error() = %q", got)
	}
}
