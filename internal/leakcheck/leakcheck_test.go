package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// A goroutine that stays is reported with its stack; one that ends within the
// settle period is not.
func TestLeaked(t *testing.T) {
	before := Snapshot()
	stop := make(chan struct{})
	go leakyWorker(stop)
	leaked := Leaked(before, 50*time.Millisecond)
	if len(leaked) != 1 {
		t.Fatalf("Leaked found %d goroutines, want the one worker: %v", len(leaked), leaked)
	}
	if want := "leakcheck.leakyWorker"; !contains(leaked[0].Stack, want) {
		t.Errorf("leaked stack does not name %s:\n%s", want, leaked[0].Stack)
	}
	go func() { time.Sleep(20 * time.Millisecond); close(stop) }()
	if leaked := Leaked(before, 2*time.Second); len(leaked) != 0 {
		t.Errorf("after the worker ended, Leaked still reports %v", leaked)
	}
}

// Check passes a test whose goroutines end in time.
func TestCheckPasses(t *testing.T) {
	Check(t)
	done := make(chan struct{})
	go func() { time.Sleep(10 * time.Millisecond); close(done) }()
	t.Cleanup(func() { <-done })
}

func TestParseID(t *testing.T) {
	for s, want := range map[string]int64{
		"goroutine 17 [running]:\nmain.main()":   17,
		"goroutine 1 [chan receive, 3 minutes]:": 1,
	} {
		if got, ok := parseID(s); !ok || got != want {
			t.Errorf("parseID(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "goroutine x [running]:", "created by main"} {
		if _, ok := parseID(s); ok {
			t.Errorf("parseID(%q) succeeded", s)
		}
	}
}

func leakyWorker(stop chan struct{}) { <-stop }

func contains(s, sub string) bool { return strings.Contains(s, sub) }
