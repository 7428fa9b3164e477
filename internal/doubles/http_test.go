package doubles

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// service is what a double serves behind Serve: it echoes the body it got.
type service struct {
	mu      sync.Mutex
	reached int
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reached++
	s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Service", "yes")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(append([]byte("got "), b...))
}

// teapot answers faults in a shape of its own, as each double does.
func teapot(w http.ResponseWriter, _ *http.Request, f Fault) {
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, "fault "+f.Code)
}

func TestServe(t *testing.T) {
	tests := []struct {
		name         string
		fault        *Fault
		giveUpAfter  time.Duration // the client gives up this long after sending; 0: never
		wantStatus   int           // as the client sees it (0: nothing) and as it is logged
		wantBody     string
		retryAfter   string
		wantReached  bool
		wantDuration time.Duration
	}{
		{name: "no fault", wantStatus: 201, wantBody: "got ping", wantReached: true},
		{name: "fault on another path", fault: &Fault{Path: "/other", Status: 500},
			wantStatus: 201, wantBody: "got ping", wantReached: true},
		{name: "fault on another method", fault: &Fault{Method: "GET", Status: 500},
			wantStatus: 201, wantBody: "got ping", wantReached: true},
		{name: "status", fault: &Fault{Method: "POST", Path: "/v1/", Status: 503, RetryAfter: "7", Code: "busy"},
			wantStatus: 503, wantBody: "fault busy", retryAfter: "7"},
		{name: "latency only", fault: &Fault{Path: "/v1/", Delay: time.Minute},
			wantStatus: 201, wantBody: "got ping", wantReached: true, wantDuration: time.Minute},
		{name: "latency, then status", fault: &Fault{Delay: time.Minute, Status: 429},
			wantStatus: 429, wantBody: "fault ", wantDuration: time.Minute},
		{name: "client gives up during latency", fault: &Fault{Delay: time.Hour, Status: 500}, giveUpAfter: time.Second,
			wantDuration: time.Second},
		{name: "answer held back", fault: &Fault{HoldAnswer: time.Minute},
			wantStatus: 201, wantBody: "got ping", wantReached: true, wantDuration: time.Minute},
		{name: "client gives up while the answer is held", fault: &Fault{HoldAnswer: time.Hour}, giveUpAfter: time.Second,
			wantReached: true, wantDuration: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var h HTTP
				if tt.fault != nil {
					h.AddFault(*tt.fault)
				}
				svc := &service{}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.giveUpAfter > 0 {
					time.AfterFunc(tt.giveUpAfter, cancel)
				}
				r := httptest.NewRequestWithContext(ctx, "POST", "/v1/things?x=1", strings.NewReader("ping"))
				r.Header.Set("Authorization", "Bearer secret")
				w := httptest.NewRecorder()
				start := time.Now()
				Serve(&h, w, r, svc, teapot)
				if took := time.Since(start); took != tt.wantDuration {
					t.Errorf("took %s, want %s", took, tt.wantDuration)
				}
				if (svc.reached == 1) != tt.wantReached {
					t.Errorf("service reached %d times, want %v", svc.reached, tt.wantReached)
				}
				if tt.wantStatus != 0 && (w.Code != tt.wantStatus || w.Body.String() != tt.wantBody) {
					t.Errorf("answer %d %q, want %d %q", w.Code, w.Body, tt.wantStatus, tt.wantBody)
				}
				if tt.wantStatus == 0 && w.Body.Len() != 0 {
					t.Errorf("a client that gave up got %q", w.Body)
				}
				if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
				}
				reqs := h.Requests()
				if len(reqs) != 1 {
					t.Fatalf("%d requests logged, want 1", len(reqs))
				}
				got := reqs[0]
				want := Request{Method: "POST", Path: "/v1/things", Query: "x=1", Body: []byte("ping"),
					Status: tt.wantStatus, Response: []byte(tt.wantBody)}
				if got.Method != want.Method || got.Path != want.Path || got.Query != want.Query ||
					string(got.Body) != string(want.Body) || got.Status != want.Status ||
					string(got.Response) != string(want.Response) || got.Header.Get("Authorization") != "Bearer secret" {
					t.Errorf("logged %+v, want %+v with the Authorization header", got, want)
				}
			})
		})
	}
}

// Requests in flight are counted while the double handles them; ResetRequests empties the log
// and starts the maximum again from what is in flight.
func TestRequestLogAndInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var h HTTP
		h.AddFault(Fault{Path: "/slow", Delay: time.Minute, Times: 2})
		serve := func(method, path string) {
			Serve(&h, httptest.NewRecorder(), httptest.NewRequest(method, path, nil), &service{}, teapot)
		}
		var wg sync.WaitGroup
		wg.Go(func() { serve("GET", "/slow/1") })
		wg.Go(func() { serve("PUT", "/slow/2") })
		synctest.Wait() // both are held by the delay
		if n := h.MaxInFlight(); n != 2 {
			t.Errorf("MaxInFlight = %d while two are held, want 2", n)
		}
		h.ResetRequests()
		if n := h.MaxInFlight(); n != 2 {
			t.Errorf("MaxInFlight right after ResetRequests = %d, want the 2 still in flight", n)
		}
		wg.Wait()
		serve("GET", "/fast")
		tests := []struct {
			method, prefix string
			want           int
		}{
			{"", "/", 3},
			{"GET", "/", 2},
			{"GET", "/slow", 1},
			{"", "/slow/2", 1},
			{"DELETE", "/", 0},
		}
		for _, tt := range tests {
			if n := h.CountRequests(tt.method, tt.prefix); n != tt.want {
				t.Errorf("CountRequests(%q, %q) = %d, want %d", tt.method, tt.prefix, n, tt.want)
			}
		}
		h.ResetRequests()
		if len(h.Requests()) != 0 || h.MaxInFlight() != 0 {
			t.Errorf("after ResetRequests: %d requests, MaxInFlight %d", len(h.Requests()), h.MaxInFlight())
		}
	})
}
