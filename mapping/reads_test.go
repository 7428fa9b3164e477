package mapping

import (
	"math"
	"testing"
	"time"
)

// Every user is read within ceil(N / (read_rate × interval)) passes, whatever the clock says when
// the passes start, and no user twice before everyone was read once.
func TestReadTurnCoversEveryoneInTurn(t *testing.T) {
	for _, tc := range []struct {
		n        int
		interval time.Duration
		readRate int
		poll     time.Duration
	}{
		{100, time.Second, 20, time.Minute},      // the site: 5 passes
		{100, 10 * time.Second, 20, time.Minute}, // everyone every pass
		{1000, 10 * time.Second, 20, time.Minute},
		{1000, time.Second, 1, time.Minute}, // poll wins: 17 a pass
		{7, 3 * time.Second, 1, time.Minute},
		{10000, 10 * time.Second, 20, 60 * time.Second},
	} {
		s := StarfaceToTeams{ReadRate: tc.readRate, Poll: tc.poll}
		_, _, load := s.ReadTurn(tc.n, tc.interval, 0, time.Unix(0, 0))
		per := load.PerPass()
		passes := int(math.Ceil(float64(tc.n) / float64(per)))
		for _, start := range []time.Time{
			time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 7, 9, 0, 0, 123456789, time.UTC),
			time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), // before the epoch: no negative turns
		} {
			read := make([]int, tc.n)
			for p := 0; p < passes; p++ {
				first, count, _ := s.ReadTurn(tc.n, tc.interval, tc.interval, start.Add(time.Duration(p)*tc.interval))
				if count != per {
					t.Fatalf("n %d interval %s: pass %d read %d, want %d a pass", tc.n, tc.interval, p, count, per)
				}
				for i := 0; i < count; i++ {
					read[(first+i)%tc.n]++
				}
			}
			for u, c := range read {
				if c == 0 {
					t.Fatalf("n %d interval %s rate %d from %s: user %d not read in %d passes", tc.n, tc.interval, tc.readRate, start, u, passes)
				}
				if c > 1 && tc.n%per == 0 {
					t.Fatalf("n %d: user %d read %d times in %d passes", tc.n, u, c, passes)
				}
			}
		}
	}
}

func TestReadTurnLoad(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                 string
		n                    int
		interval, elapsed    time.Duration
		rate                 int
		poll                 time.Duration
		least, budget, count int
		pollWins             bool
	}{
		{"read_rate covers the site every 5 passes", 100, time.Second, 0, 20, time.Minute, 2, 20, 20, false},
		{"poll needs more than read_rate: poll wins", 6000, 10 * time.Second, 0, 20, time.Minute, 1000, 200, 1000, true},
		{"a late pass reads what it missed", 100, time.Second, 3 * time.Second, 20, time.Minute, 2, 20, 60, false},
		{"a pass after a long outage reads everyone once", 100, time.Second, time.Hour, 20, time.Minute, 2, 20, 100, false},
		{"no users", 0, time.Second, 0, 20, time.Minute, 0, 20, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := StarfaceToTeams{ReadRate: tc.rate, Poll: tc.poll}
			_, count, load := s.ReadTurn(tc.n, tc.interval, tc.elapsed, now)
			if load.Least != tc.least || load.Budget != tc.budget || count != tc.count || load.PollWins() != tc.pollWins {
				t.Errorf("ReadTurn = count %d, %+v (poll wins %t); want count %d, least %d, budget %d, poll wins %t",
					count, load, load.PollWins(), tc.count, tc.least, tc.budget, tc.pollWins)
			}
		})
	}
}
