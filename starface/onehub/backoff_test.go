package onehub

import (
	"testing"
	"time"
)

func TestReconnectBackoff(t *testing.T) {
	tests := []struct {
		n        int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, time.Second},
		{2, 1600 * time.Millisecond, 2 * time.Second},
		{5, 12800 * time.Millisecond, 16 * time.Second},
		{6, 24 * time.Second, 30 * time.Second},
		{50, 24 * time.Second, 30 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			if d := reconnectBackoff(tt.n); d < tt.min || d > tt.max {
				t.Errorf("reconnectBackoff(%d) = %v, want within [%v, %v]", tt.n, d, tt.min, tt.max)
			}
		}
	}
}
