package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is a non-2xx answer from Graph, with what an operator needs to follow it up with Microsoft.
type Error struct {
	Status          int    // HTTP status
	Code            string // Graph's error.code, e.g. InvalidAuthenticationToken, Request_ResourceNotFound
	Message         string // Graph's error.message
	RequestID       string // request-id (header, else error.innerError)
	ClientRequestID string // the client-request-id teamsface sent
	RetryAfter      time.Duration
}

// Error reads like "graph: 403 Forbidden: Insufficient privileges to complete the operation
// (code Authorization_RequestDenied, request-id ..., client-request-id ...)".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: %d %s", e.Status, http.StatusText(e.Status))
	if msg := strings.TrimRight(strings.TrimSpace(e.Message), "."); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	var ids []string
	if e.Code != "" {
		ids = append(ids, "code "+e.Code)
	}
	if e.RequestID != "" {
		ids = append(ids, "request-id "+e.RequestID)
	}
	if e.ClientRequestID != "" {
		ids = append(ids, "client-request-id "+e.ClientRequestID)
	}
	if len(ids) > 0 {
		b.WriteString(" (" + strings.Join(ids, ", ") + ")")
	}
	return b.String()
}

// ThrottledError says Graph asked to wait (Retry-After on a 429, 503 or 504) until a time the
// call would not wait for: longer than Options.MaxWait, past the context's deadline, or after the
// last attempt. Nothing more was sent, and the client sends nothing before Until (see
// Client.NotBefore). A call made before a time set with SetNotBefore gets one too, with Err nil.
type ThrottledError struct {
	Until time.Time // when Graph takes requests again
	Err   *Error    // the answer that carried the Retry-After; nil when nothing was sent

	asked    time.Time // when the answer came (zero: unknown)
	attempts int       // attempts made, when the last one was throttled
}

// Error reads like "graph: throttled: Graph asked to wait until 09:00:12 UTC (Retry-After 12s)".
func (e *ThrottledError) Error() string {
	until := e.Until.UTC()
	layout := "2006-01-02 15:04:05 UTC"
	if !e.asked.IsZero() && e.asked.UTC().Format(time.DateOnly) == until.Format(time.DateOnly) {
		layout = "15:04:05 UTC" // the same day: the time says it
	}
	s := "graph: throttled: Graph asked to wait until " + until.Format(layout)
	switch {
	case e.Err == nil:
		return s + " (nothing is sent before then)"
	case e.attempts > 1:
		return fmt.Sprintf("%s (Retry-After %s, after %d attempts)", s, e.Err.RetryAfter, e.attempts)
	}
	return fmt.Sprintf("%s (Retry-After %s)", s, e.Err.RetryAfter)
}

// Unwrap gives the *Error Graph answered, if any.
func (e *ThrottledError) Unwrap() error {
	if e.Err == nil {
		return nil
	}
	return e.Err
}

// IsAuth reports whether err is (or wraps) a 401 or 403 from Graph: a token refused or a
// permission missing, which DESIGN.md maps to exit code 4 for calls the whole run depends on.
func IsAuth(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
}

// isNotFound reports a 404 from Graph.
func isNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// readError turns a non-2xx answer into *Error, and drains and closes the body.
// Graph's shape: {"error": {"code", "message", "innerError": {"request-id", "client-request-id", "date"}}}.
// now reads a Retry-After given as an HTTP date.
func readError(resp *http.Response, now time.Time) *Error {
	defer closeBody(resp)
	e := &Error{
		Status:          resp.StatusCode,
		RequestID:       resp.Header.Get("request-id"),
		ClientRequestID: resp.Header.Get("client-request-id"),
		RetryAfter:      parseRetryAfter(resp.Header.Get("Retry-After"), now),
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil {
		e.Code = body.Error.Code
		e.Message = body.Error.Message
		if e.RequestID == "" {
			e.RequestID = body.Error.InnerError.RequestID
		}
		if e.ClientRequestID == "" {
			e.ClientRequestID = body.Error.InnerError.ClientRequestID
		}
	}
	return e
}

// opError says what was being done: "graph: get presences (ids 651-1300): 503 Service Unavailable ...".
// It keeps the underlying error reachable for errors.As / errors.Is.
type opError struct {
	op  string
	err error
}

func (e *opError) Error() string {
	return "graph: " + e.op + ": " + strings.TrimPrefix(e.err.Error(), "graph: ")
}

func (e *opError) Unwrap() error { return e.err }

func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, err: err}
}
