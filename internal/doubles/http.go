package doubles

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/teamsface/teamsface/internal/ctxtime"
)

// Request is one request an HTTP double got, with the answer it gave, as tests see it in
// Requests. Header holds the request's headers as they came, secrets (Authorization,
// authToken) included, so that tests can assert on them; the doubles themselves never log them.
type Request struct {
	Method   string
	Path     string // URL path, e.g. /v1.0/communications/getPresencesByUserId
	Query    string // raw query, without "?", e.g. $select=id&$top=999
	Header   http.Header
	Body     []byte
	Status   int    // the status the double answered with; 0: the client gave up before an answer
	Response []byte // the body the double answered with
}

// Fault is a failure or latency injected into an HTTP double. It applies to requests whose
// method and path match (Method "" matches any method; Path is a prefix of the URL path) and is
// used Times times (0 means for ever). Errors are answered in the service's own shape, each
// double says which.
type Fault struct {
	Method     string
	Path       string        // prefix of the URL path, e.g. /v1.0/communications/ or /rest/users/17/phoneconfig
	Status     int           // e.g. 429, 503, 500; 0: latency only
	RetryAfter string        // value of the Retry-After header, "" for none
	Code       string        // the service's error code in the body; "" for the double's default for Status
	Delay      time.Duration // latency added before answering; it ends early when the client gives up
	// HoldAnswer carries the request out, then holds its answer back this long (ending early
	// when the client gives up): a write that landed although its client never heard so, as
	// when the client is killed or times out.
	HoldAnswer time.Duration
	Times      int
}

func (f Fault) applies(r *http.Request) bool {
	return (f.Method == "" || f.Method == r.Method) && strings.HasPrefix(r.URL.Path, f.Path)
}

func (f Fault) times() int { return f.Times }

// faultList gives HTTP its faults' methods without an exported field.
type faultList = Faults[Fault]

// HTTP is the request log, the injected faults and the count of requests in flight of an HTTP
// double; Serve handles a request with them. Embedded, it gives the double AddFault,
// ClearFaults, Requests, ResetRequests, CountRequests and MaxInFlight. It is safe for
// concurrent use; the zero value is ready.
type HTTP struct {
	faultList
	log Log[Request]

	mu        sync.Mutex
	inFlight  int
	maxFlight int
}

// Requests returns a copy of the log of requests answered so far.
func (h *HTTP) Requests() []Request { return h.log.All() }

// ResetRequests empties the request log and the in-flight maximum.
func (h *HTTP) ResetRequests() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log.Reset()
	h.maxFlight = h.inFlight
}

// CountRequests counts logged requests with this method ("" = any) and path prefix.
func (h *HTTP) CountRequests(method, pathPrefix string) int {
	return h.log.Count(func(r Request) bool {
		return (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix)
	})
}

// InFlight is how many requests the double is handling now: a test that must act while a
// request is in flight (a run to kill in the middle of a write) waits for it.
func (h *HTTP) InFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inFlight
}

// MaxInFlight is the most requests the double was handling at the same time (since it started
// or the last ResetRequests).
func (h *HTTP) MaxInFlight() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.maxFlight
}

// Serve handles one request of h's double: it counts the request in flight, applies the first
// fault that applies, hands the request to service unless the fault answered it, and logs it
// with its answer once it is done. A fault's Delay is waited first; a client that gives up
// meanwhile gets no answer and its request never reaches the service. A fault with a Status is
// then answered by fail, in the service's shape (Retry-After is set already); one with a
// HoldAnswer lets the service carry the request out and holds its answer back.
//
// It is a function, not a method, so that it does not become part of the doubles' API.
func Serve(h *HTTP, w http.ResponseWriter, r *http.Request, service http.Handler, fail func(http.ResponseWriter, *http.Request, Fault)) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.mu.Lock()
	h.inFlight++
	h.maxFlight = max(h.maxFlight, h.inFlight)
	h.mu.Unlock()

	rec := &recorder{ResponseWriter: w}
	f, faulty := Take(&h.faultList, func(f Fault) bool { return f.applies(r) }, Fault.times)
	switch {
	case faulty && !applyFault(rec, r, f, fail):
	case faulty && f.HoldAnswer > 0:
		serveHeld(rec, r, service, f.HoldAnswer)
	default:
		service.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	h.inFlight--
	h.log.Add(Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body,
		Status: rec.status, Response: bytes.Clone(rec.body.Bytes()),
	})
}

// applyFault waits and/or answers as f says; it reports whether the request goes on to the
// service.
func applyFault(w http.ResponseWriter, r *http.Request, f Fault, fail func(http.ResponseWriter, *http.Request, Fault)) bool {
	if f.Delay > 0 && ctxtime.Sleep(r.Context(), f.Delay) != nil {
		return false
	}
	if f.Status == 0 {
		return true
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	fail(w, r, f)
	return false
}

// serveHeld carries the request out, then holds the answer back for d or until the client
// leaves; a client that left gets nothing and the request is logged with status 0.
func serveHeld(w http.ResponseWriter, r *http.Request, service http.Handler, d time.Duration) {
	held := httptest.NewRecorder()
	service.ServeHTTP(held, r)
	if ctxtime.Sleep(r.Context(), d) != nil {
		return
	}
	for k, v := range held.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(held.Code)
	_, _ = w.Write(held.Body.Bytes())
}

// recorder keeps the status and body of an answer for the request log.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}
