package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestProgressLine(t *testing.T) {
	type step struct {
		advance     time.Duration
		done, total int
		finish      bool
	}
	for _, tc := range []struct {
		name    string
		enabled bool
		steps   []step
		want    string
	}{
		{"fast read draws nothing", true, []step{
			{0, 1, 16, false}, {900 * time.Millisecond, 15, 16, false}, {0, 0, 0, true},
		}, ""},
		{"slow read draws and clears", true, []step{
			{0, 1, 16, false}, {time.Second, 3, 16, false}, {0, 0, 0, true},
		}, "\rreading… 3/16" + "\r" + strings.Repeat(" ", len([]rune("reading… 3/16"))) + "\r"},
		{"unknown total, thousands", true, []step{
			{2 * time.Second, 12345, 0, false},
		}, "\rreading… 12,345"},
		{"redraws throttled, final count always drawn", true, []step{
			{time.Second, 1, 3, false}, {10 * time.Millisecond, 2, 3, false}, {10 * time.Millisecond, 3, 3, false},
		}, "\rreading… 1/3\rreading… 3/3"},
		{"shorter line pads over longer", true, []step{
			{time.Second, 1000, 0, false}, {time.Second, 9, 0, false},
		}, "\rreading… 1,000\rreading… 9    "},
		{"disabled draws nothing", false, []step{
			{5 * time.Second, 3, 16, false}, {0, 0, 0, true},
		}, ""},
		{"nothing after done", true, []step{
			{0, 0, 0, true}, {5 * time.Second, 3, 16, false},
		}, ""},
	} {
		// In a synctest bubble the clock moves only by the sleeps: the steps' times are exact.
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var buf bytes.Buffer
				task := New(&buf, tc.enabled, nil).Start("reading")
				for _, s := range tc.steps {
					time.Sleep(s.advance)
					if s.finish {
						task.Done()
					} else {
						task.Update(s.done, s.total)
					}
				}
				if got := buf.String(); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		})
	}
}

func TestProgressNilAndConcurrent(t *testing.T) {
	var p *Bar
	p.Start("x").Update(1, 2) // a nil progress and task are valid no-ops
	p.Start("x").Done()

	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		task := New(&buf, true, nil).Start("reading presence")
		time.Sleep(2 * time.Second)
		var wg sync.WaitGroup
		for i := 1; i <= 16; i++ {
			wg.Go(func() {
				time.Sleep(time.Duration(i%4) * 50 * time.Millisecond) // four waves of updates at once
				task.Update(i, 16)
			})
		}
		wg.Wait()
		task.Done()
		out := buf.String()
		if !strings.HasPrefix(out, "\rreading presence… ") || !strings.HasSuffix(out, "\r") {
			t.Errorf("unexpected output %q", out)
		}
		// After Done the cursor is at the start of an all-blank line.
		last := out[strings.LastIndex(out[:len(out)-1], "\r")+1 : len(out)-1]
		if strings.TrimSpace(last) != "" {
			t.Errorf("line not cleared: %q", out)
		}
	})
}

func TestGroupThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 12345: "12,345", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := GroupThousands(n); got != want {
			t.Errorf("GroupThousands(%d) = %q, want %q", n, got, want)
		}
	}
}
