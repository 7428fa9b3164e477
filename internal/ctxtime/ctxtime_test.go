package ctxtime

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestSleep(t *testing.T) {
	tests := []struct {
		name     string
		d        time.Duration
		ctx      func() (context.Context, context.CancelFunc) // made inside the bubble
		want     error
		wantTook time.Duration
	}{
		{"waits the whole duration", time.Minute, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, nil, time.Minute},
		{"returns when the deadline comes first", time.Minute, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 10*time.Second)
		}, context.DeadlineExceeded, 10 * time.Second},
		{"returns at once when the context already ended", time.Minute, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := tt.ctx()
				defer cancel()
				start := time.Now()
				err := Sleep(ctx, tt.d)
				if !errors.Is(err, tt.want) {
					t.Errorf("Sleep = %v, want %v", err, tt.want)
				}
				if took := time.Since(start); took != tt.wantTook {
					t.Errorf("Sleep took %s, want %s", took, tt.wantTook)
				}
			})
		})
	}
}

// A cancel from another goroutine ends the wait when it happens, not when d is over.
func TestSleepCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(3*time.Second, cancel)
		start := time.Now()
		if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
		if took := time.Since(start); took != 3*time.Second {
			t.Errorf("Sleep took %s, want 3s", took)
		}
	})
}
