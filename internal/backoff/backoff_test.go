package backoff

import (
	"context"
	"testing"
	"time"
)

func TestBackoffIsCappedAndJittered(t *testing.T) {
	for attempt := range 40 {
		d := Wait(100*time.Millisecond, 10*time.Second, attempt)
		if d < 0 || d > 10*time.Second {
			t.Fatalf("attempt %d: %s out of [0,10s]", attempt, d)
		}
	}
}

func TestSleepEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep waited out an hour with its context done")
	}
	if !Sleep(context.Background(), 0) {
		t.Error("Sleep(0) did not complete")
	}
}
