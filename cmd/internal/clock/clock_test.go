package clock

import (
	"sync"
	"testing"
	"time"
)

func TestManualMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	c := NewManual(t0)
	if !c.Now().Equal(t0) || !c.Now().Equal(t0) {
		t.Fatal("the clock moved by itself")
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Advance(time.Second) })
	}
	wg.Wait()
	if got := c.Now().Sub(t0); got != 10*time.Second {
		t.Errorf("after ten advances of 1s: %v", got)
	}
}
