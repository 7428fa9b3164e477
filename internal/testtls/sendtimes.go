package testtls

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// SendTimes is a RoundTripper that notes when each request goes out (those of Method, "" for
// any, and whose path starts with Path) before handing it to Base: in a synctest bubble, the
// times are the bubble's, so a test reads off them exactly what a client waited between tries.
type SendTimes struct {
	Base   http.RoundTripper
	Method string
	Path   string

	mu sync.Mutex
	at []time.Time
}

func (s *SendTimes) RoundTrip(r *http.Request) (*http.Response, error) {
	if (s.Method == "" || r.Method == s.Method) && strings.HasPrefix(r.URL.Path, s.Path) {
		s.mu.Lock()
		s.at = append(s.at, time.Now())
		s.mu.Unlock()
	}
	return s.Base.RoundTrip(r)
}

// Gaps are the times between one noted request and the next.
func (s *SendTimes) Gaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(s.at); i++ {
		out = append(out, s.at[i].Sub(s.at[i-1]))
	}
	return out
}
