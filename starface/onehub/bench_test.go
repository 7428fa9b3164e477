package onehub_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const benchUsers = 10000

// BenchmarkReadPresence10000 is a `sync once` read of everyone's DND and call state over
// OneHub, the id mapping cached: ceil(10,000 / 1,000) subscribes and as many unsubscribes.
func BenchmarkReadPresence10000(b *testing.B) {
	f := newFixture(b, benchUsers, onehubtest.Options{})
	c := f.dial(b, nil)
	ids := lookupAll(b, c, benchUsers)
	ctx := context.Background()
	f.oh.ResetCalls()
	start := time.Now()
	passes := 0
	for b.Loop() {
		got, err := c.ReadPresence(ctx, ids)
		if err != nil || len(got) != benchUsers {
			b.Fatalf("%d states, %v", len(got), err)
		}
		passes++
	}
	b.ReportMetric(float64(f.oh.CountCalls(""))/float64(passes), "grpc-requests/pass")
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(passes), "ms/pass")
}

// BenchmarkRESTPhoneConfigReads10000 is the same read over REST, for comparison: one
// GET /rest/users/{id}/phoneconfig per user, four in flight (the REST client's default bound).
func BenchmarkRESTPhoneConfigReads10000(b *testing.B) {
	f := newFixture(b, benchUsers, onehubtest.Options{})
	f.rest.AddUser(starfacetest.User{ID: benchUsers + 1, Login: "admin", Password: "pw", Admin: true})
	rc, err := starface.New(starface.Options{URL: f.rest.URL, Login: "admin", Password: "pw", HTTPClient: f.rest.Client()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	f.rest.ResetRequests()
	start := time.Now()
	passes := 0
	for b.Loop() {
		next := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for range 4 {
			wg.Go(func() {
				for id := range next {
					if _, err := rc.PhoneConfig(ctx, id); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			})
		}
		for id := 1; id <= benchUsers; id++ {
			next <- id
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		passes++
	}
	b.ReportMetric(float64(len(f.rest.Requests()))/float64(passes), "http-requests/pass")
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(passes), "ms/pass")
}
