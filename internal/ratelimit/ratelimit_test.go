package ratelimit

import (
	"testing"
	"time"
)

func TestBucketPerCredential(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(10, 3, func() time.Time { return now })
	for i := range 3 {
		if !l.Allow(1, 0, 0) {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	if l.Allow(1, 0, 0) {
		t.Fatal("fourth request in the same instant allowed past a burst of 3")
	}
	if !l.Allow(2, 0, 0) {
		t.Fatal("another credential's bucket was drained by the first")
	}
	now = now.Add(100 * time.Millisecond) // one token at 10/s
	if !l.Allow(1, 0, 0) || l.Allow(1, 0, 0) {
		t.Fatal("refill after 100 ms should allow exactly one more")
	}
}

func TestPerCredentialOverride(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(1, 1, func() time.Time { return now })
	for i := range 50 {
		if !l.Allow(7, 1000, 50) {
			t.Fatalf("request %d refused under the credential's own burst of 50", i+1)
		}
	}
	if l.Allow(7, 1000, 50) {
		t.Fatal("51st request allowed")
	}
}

func TestIdleBucketsAreDropped(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := New(1, 1, func() time.Time { return now })
	l.Allow(1, 0, 0)
	now = now.Add(10 * time.Minute)
	l.Allow(2, 0, 0)
	if _, ok := l.buckets[1]; ok || len(l.buckets) != 1 {
		t.Fatalf("buckets = %d, the idle one should be gone", len(l.buckets))
	}
}
