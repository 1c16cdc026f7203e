package promsession_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/promsession"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures a request through a Manager on the memory
// driver (storetest.BenchmarkManager: new, read, write, untouched) without
// Hooks and with promsession's; the two alternate within each -count, for
// benchstat -col /hooks.
func BenchmarkRequest(b *testing.B) {
	for _, c := range []struct {
		name  string
		hooks func(b *testing.B) *session.Hooks
	}{
		{"none", func(*testing.B) *session.Hooks { return nil }},
		{"prometheus", func(b *testing.B) *session.Hooks {
			pm, err := promsession.New(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			return pm.Hooks()
		}},
	} {
		b.Run("hooks="+c.name, func(b *testing.B) {
			storetest.BenchmarkManager(b, storetest.NewManager(b, nil, session.Config{Driver: "memory", Hooks: c.hooks(b)}))
		})
	}
}
