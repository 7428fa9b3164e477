package graphtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// The request log holds every request with the answer it got, injected faults included.
func TestRequestLogRecordsAnswers(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1", Availability: "Busy", Activity: "InACall"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	s.AddFault(Fault{Method: "GET", Path: "/v1.0/users/u1/presence", Status: 429, RetryAfter: "7", Times: 1})

	call(t, s, "GET", "/v1.0/users/u1/presence?x=1", tok, nil, "")
	call(t, s, "GET", "/v1.0/users/u1/presence", tok, nil, "")
	call(t, s, "POST", "/v1.0/users/u1/presence/clearPresence", tok, nil, `{"sessionId":"app"}`)

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests logged, want 3", len(reqs))
	}
	var throttled, ok, missing map[string]any
	for i, m := range []*map[string]any{&throttled, &ok, &missing} {
		if err := json.Unmarshal(reqs[i].Response, m); err != nil {
			t.Fatalf("request %d: Response %q is not JSON", i+1, reqs[i].Response)
		}
	}
	if reqs[0].Status != 429 || errorCode(throttled) != "TooManyRequests" || reqs[0].Query != "x=1" {
		t.Errorf("fault logged as %d %v, query %q", reqs[0].Status, throttled, reqs[0].Query)
	}
	if reqs[1].Status != 200 || ok["activity"] != "InACall" {
		t.Errorf("presence logged as %d %v", reqs[1].Status, ok)
	}
	if reqs[2].Status != 404 || errorCode(missing) != "NotFound" || string(reqs[2].Body) != `{"sessionId":"app"}` {
		t.Errorf("clearPresence logged as %d %v, body %q", reqs[2].Status, missing, reqs[2].Body)
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer "+tok {
		t.Errorf("Authorization recorded as %q, want it as it came", got)
	}
	if n := s.CountRequests("", "/v1.0/users/u1/presence"); n != 3 {
		t.Errorf("CountRequests any method = %d, want 3", n)
	}
	if n := s.CountRequests("GET", "/v1.0/users/u1/presence"); n != 2 {
		t.Errorf("CountRequests GET = %d, want 2", n)
	}
	s.ResetRequests()
	if len(s.Requests()) != 0 || s.MaxInFlight() != 0 {
		t.Errorf("after ResetRequests: %d requests, MaxInFlight %d", len(s.Requests()), s.MaxInFlight())
	}
}

// MaxInFlight counts requests the server handles at the same time; latency makes them overlap.
func TestMaxInFlight(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	// A minute of latency each: all three are in the server together until the clients give up.
	s.AddFault(Fault{Path: "/v1.0/users/u1/presence", Delay: time.Minute, Times: 3})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1.0/users/u1/presence", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := s.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	waitUntil(t, func() bool { return s.MaxInFlight() == 3 })
	cancel() // the clients give up: the delays end at once
	wg.Wait()
	waitUntil(t, func() bool { return len(s.Requests()) == 3 })
	if got := s.MaxInFlight(); got != 3 {
		t.Errorf("MaxInFlight = %d, want 3", got)
	}
}

// A client that gives up during injected latency leaves at once; the request is logged without
// an answer and never reaches the service (the session is not set).
func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	s.AddFault(Fault{Path: "/v1.0/users/u1/presence/setPresence", Delay: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for s.MaxInFlight() == 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "POST", s.URL+"/v1.0/users/u1/presence/setPresence",
		strings.NewReader(`{"sessionId":"app","availability":"Away","activity":"Away"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	_, err := s.Client().Do(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want the client's cancellation", err)
	}
	waitUntil(t, func() bool { return len(s.Requests()) == 1 })
	if r := s.Requests()[0]; r.Status != 0 || len(r.Response) != 0 {
		t.Errorf("logged %d %q, want no answer", r.Status, r.Response)
	}
	if got := s.Sessions("u1"); len(got) != 0 {
		t.Errorf("sessions %v: a request the client abandoned during latency was served", got)
	}
}

// waitUntil polls cond (a handler finishing on another goroutine) for up to ten seconds.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
