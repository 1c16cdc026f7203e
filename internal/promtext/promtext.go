// Package promtext counts what session.Hooks report and serves it in the
// Prometheus text exposition format, with the standard library only. It is
// the demo's /metrics (go run ./cmd/demo -metrics): the demo lives in the
// core module, which requires no Prometheus client. Applications use the
// exporter modules, promsession (client_golang) or otelsession
// (OpenTelemetry); promsession's tests check that its metrics and
// promtext's have the same names, help, types, labels, buckets and counts.
package promtext

import (
	"bufio"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/session"
)

// Buckets are the upper bounds, in seconds, of the store-call histogram's
// buckets (promsession.DefaultBuckets).
var Buckets = []float64{
	0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5,
}

// The metrics' help texts, as promsession gives them.
const (
	helpCreated     = "Sessions first stored (on the cookie driver: first sent)."
	helpLoaded      = "Requests whose session was loaded, by what the cookie or token gave: found (a live session), new (none), expired (a session that expired, ended or was never stored), invalid (forged, truncated, another key, or a corrupt record)."
	helpDestroyed   = "Sessions ended by Destroy, DestroyOtherSessions, DestroyUserSessions or DestroyUserSession."
	helpRegenerated = "Sessions given a new ID (Regenerate, Login)."
	helpDuration    = "Time the session store took per call, by call (op) and driver, failed calls included."
	helpErrors      = "Session store calls that failed, by call (op) and driver."
	helpCSRF        = "Requests refused by VerifyCSRF."
	helpSwept       = "Expired sessions removed by sweeps."
)

// results are the values of sessionkit_sessions_loaded_total's result label,
// in the order they are written (sorted).
var results = [...]session.LoadResult{session.LoadExpired, session.LoadFound, session.LoadInvalid, session.LoadNew}

// Metrics counts a Manager's events. Its Hooks and ServeHTTP are safe for
// concurrent use.
type Metrics struct {
	created, destroyed, regenerated, csrf, swept atomic.Uint64
	loaded                                       [len(results)]atomic.Uint64

	mu  sync.RWMutex
	ops map[opKey]*opStats

	hooks *session.Hooks
}

type opKey struct{ driver, op string }

// opStats are one store call's histogram and errors.
type opStats struct {
	buckets []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum     atomic.Uint64   // float64 bits, seconds
	errors  atomic.Uint64
}

// New returns empty Metrics.
func New() *Metrics {
	m := &Metrics{ops: map[opKey]*opStats{}}
	m.hooks = &session.Hooks{
		SessionLoaded: func(_ context.Context, r session.LoadResult) {
			if i := slices.Index(results[:], r); i >= 0 {
				m.loaded[i].Add(1)
			}
		},
		SessionCreated:     func(context.Context) { m.created.Add(1) },
		SessionDestroyed:   func(context.Context) { m.destroyed.Add(1) },
		SessionRegenerated: func(context.Context) { m.regenerated.Add(1) },
		CSRFRejected:       func(context.Context) { m.csrf.Add(1) },
		Swept: func(_ context.Context, removed int, _ error) {
			if removed > 0 {
				m.swept.Add(uint64(removed))
			}
		},
		StoreCall: m.storeCall,
	}
	return m
}

// Hooks returns the hooks that feed the metrics, for session.Config.Hooks.
func (m *Metrics) Hooks() *session.Hooks { return m.hooks }

func (m *Metrics) storeCall(ctx context.Context, driver, op string) (context.Context, func(error)) {
	s := m.op(driver, op)
	start := time.Now()
	return ctx, func(err error) {
		d := time.Since(start).Seconds()
		i, _ := slices.BinarySearch(Buckets, d) // the first bound >= d
		s.buckets[i].Add(1)
		for {
			old := s.sum.Load()
			if s.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
				break
			}
		}
		if err != nil {
			s.errors.Add(1)
		}
	}
}

func (m *Metrics) op(driver, op string) *opStats {
	k := opKey{driver, op}
	m.mu.RLock()
	s := m.ops[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.ops[k]; s == nil {
		s = &opStats{buckets: make([]atomic.Uint64, len(Buckets)+1)}
		m.ops[k] = s
	}
	return s
}

// ServeHTTP writes the metrics in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	m.WriteTo(w)
}

// WriteTo writes the metrics in the Prometheus text format (version 0.0.4)
// to w, families sorted by name and series by label values, as
// client_golang writes them.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	b := bufio.NewWriter(cw)
	counter := func(name, help string, v uint64) {
		family(b, name, help, "counter")
		sample(b, name, "", float64(v))
	}

	m.mu.RLock()
	keys := make([]opKey, 0, len(m.ops))
	for k := range m.ops {
		keys = append(keys, k)
	}
	m.mu.RUnlock()
	slices.SortFunc(keys, func(a, b opKey) int {
		if c := strings.Compare(a.driver, b.driver); c != 0 {
			return c
		}
		return strings.Compare(a.op, b.op)
	})
	labels := func(k opKey) string { return `driver="` + escape(k.driver) + `",op="` + escape(k.op) + `"` }

	// In the order of the names.
	counter("sessionkit_csrf_rejected_total", helpCSRF, m.csrf.Load())
	counter("sessionkit_sessions_created_total", helpCreated, m.created.Load())
	counter("sessionkit_sessions_destroyed_total", helpDestroyed, m.destroyed.Load())
	family(b, "sessionkit_sessions_loaded_total", helpLoaded, "counter")
	for i, r := range results {
		sample(b, "sessionkit_sessions_loaded_total", `result="`+string(r)+`"`, float64(m.loaded[i].Load()))
	}
	counter("sessionkit_sessions_regenerated_total", helpRegenerated, m.regenerated.Load())
	if len(keys) > 0 {
		family(b, "sessionkit_store_errors_total", helpErrors, "counter")
		for _, k := range keys {
			sample(b, "sessionkit_store_errors_total", labels(k), float64(m.op(k.driver, k.op).errors.Load()))
		}
		const name = "sessionkit_store_operation_duration_seconds"
		family(b, name, helpDuration, "histogram")
		for _, k := range keys {
			s, l := m.op(k.driver, k.op), labels(k)
			var n uint64
			for i := range s.buckets {
				n += s.buckets[i].Load()
				le := "+Inf"
				if i < len(Buckets) {
					le = formatFloat(Buckets[i])
				}
				sample(b, name+"_bucket", l+`,le="`+le+`"`, float64(n))
			}
			sample(b, name+"_sum", l, math.Float64frombits(s.sum.Load()))
			sample(b, name+"_count", l, float64(n))
		}
	}
	counter("sessionkit_sweep_removed_total", helpSwept, m.swept.Load())
	err := b.Flush()
	return cw.n, err
}

func family(b *bufio.Writer, name, help, typ string) {
	b.WriteString("# HELP " + name + " " + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(help) + "\n")
	b.WriteString("# TYPE " + name + " " + typ + "\n")
}

func sample(b *bufio.Writer, name, labels string, v float64) {
	b.WriteString(name)
	if labels != "" {
		b.WriteString("{" + labels + "}")
	}
	b.WriteString(" " + formatFloat(v) + "\n")
}

// escape escapes a label value.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// formatFloat formats v as client_golang does.
func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, +1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
