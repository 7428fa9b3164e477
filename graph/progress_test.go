package graph_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/graph/graphtest"
)

// progressLog records WithProgress callbacks.
type progressLog struct {
	mu    sync.Mutex
	calls [][2]int
}

func (p *progressLog) ctx(parent context.Context) context.Context {
	return graph.WithProgress(parent, func(done, total int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.calls = append(p.calls, [2]int{done, total})
	})
}

func TestProgressReportsPagesAndPresenceRequests(t *testing.T) {
	e := newEnv(t, everything, nil)
	e.s.SetPageSize(2)
	ids := make([]string, 1301)
	for i := range ids {
		ids[i] = guid(i)
		if i < 5 {
			e.s.AddUser(graphtest.User{ID: ids[i], AccountEnabled: true})
		}
	}

	var pages progressLog
	if _, err := e.c.ListUsers(pages.ctx(t.Context())); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{2, 0}, {4, 0}, {5, 0}}; !slices.Equal(pages.calls, want) {
		t.Errorf("user pages reported %v, want %v", pages.calls, want)
	}

	var reqs progressLog
	if _, err := e.c.GetPresences(reqs.ctx(t.Context()), ids); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(reqs.calls, func(a, b [2]int) int { return a[0] - b[0] })
	if want := [][2]int{{1, 3}, {2, 3}, {3, 3}}; !slices.Equal(reqs.calls, want) {
		t.Errorf("presence requests reported %v, want %v", reqs.calls, want)
	}
}
