package ratelimit

import (
	"testing"
	"time"
)

func TestAttemptsCountFailuresPerKey(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := NewAttempts(3, time.Minute, func() time.Time { return now })
	for i := range 3 {
		if !a.Allow("budi") {
			t.Fatalf("attempt %d within the burst refused", i+1)
		}
		a.Fail("budi")
	}
	if a.Allow("budi") {
		t.Fatal("a fourth attempt after three failures allowed")
	}
	if !a.Allow("siti") {
		t.Fatal("another key was refused by budi's failures")
	}
	now = now.Add(time.Minute)
	if !a.Allow("budi") {
		t.Fatal("no attempt allowed again after the interval")
	}
	a.Fail("budi")
	if a.Allow("budi") {
		t.Fatal("more than one attempt per interval after the burst")
	}
	now = now.Add(time.Hour)
	a.Fail("siti") // sweeps budi's full bucket away
	if _, ok := a.keys["budi"]; ok {
		t.Error("a key with a full bucket was kept")
	}
}
