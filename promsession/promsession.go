// Package promsession exports what a sessionkit Manager does as Prometheus
// metrics (github.com/prometheus/client_golang). It builds a session.Hooks
// that counts sessions created, loaded (by result), destroyed and
// regenerated, CSRF refusals and swept sessions, and times every store call:
//
//	metrics, err := promsession.New(prometheus.DefaultRegisterer)
//	if err != nil { ... }
//	m, err := session.New(session.Config{Secret: secret, Hooks: metrics.Hooks()})
//	http.Handle("/metrics", promhttp.Handler())
//
// The metrics (names fixed by sessionkit's API):
//
//	sessionkit_sessions_created_total              counter
//	sessionkit_sessions_loaded_total               counter   result: found, new, expired, invalid
//	sessionkit_sessions_destroyed_total            counter
//	sessionkit_sessions_regenerated_total          counter
//	sessionkit_store_operation_duration_seconds    histogram op, driver
//	sessionkit_store_errors_total                  counter   op, driver
//	sessionkit_csrf_rejected_total                 counter
//	sessionkit_sweep_removed_total                 counter
//
// Several Managers in one process either share one Metrics (pass the same
// Hooks to each Config: the counts add up, the driver label still tells the
// stores apart), or each get their own, registered on a registerer that adds
// a label of its own:
//
//	admin, err := promsession.New(prometheus.WrapRegistererWith(prometheus.Labels{"manager": "admin"}, reg))
//
// (then every Metrics on that registry needs the label: a registry refuses
// one metric name with two sets of label names).
//
// New on a registerer that already holds sessionkit's metrics (the same
// registerer, no other label) returns the Metrics registered first, so
// calling it twice neither panics nor fails.
package promsession

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/session"
)

// DefaultBuckets are the upper bounds, in seconds, of the store-call
// histogram's buckets: 25 µs (a memory store) to 5 s (a store that hangs
// until Config.StoreTimeout).
var DefaultBuckets = []float64{
	0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5,
}

// An Option changes what New builds.
type Option func(*options)

type options struct {
	buckets []float64
}

// WithBuckets sets the store-call histogram's bucket upper bounds, in seconds,
// in increasing order (default DefaultBuckets).
func WithBuckets(b []float64) Option {
	return func(o *options) { o.buckets = append([]float64(nil), b...) }
}

// Metrics holds sessionkit's Prometheus metrics, registered by New. It is a
// prometheus.Collector; its Hooks are safe for concurrent use by any number
// of Managers.
type Metrics struct {
	created     prometheus.Counter
	loaded      *prometheus.CounterVec
	destroyed   prometheus.Counter
	regenerated prometheus.Counter
	duration    *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	csrf        prometheus.Counter
	swept       prometheus.Counter

	found, fresh, expired, invalid prometheus.Counter // loaded's children

	mu  sync.RWMutex
	ops map[opKey]*opMetrics // the children of duration and errors, by call

	hooks *session.Hooks
}

type opKey struct{ driver, op string }

// opMetrics are the metrics of one store call (driver and op).
type opMetrics struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// New registers sessionkit's metrics on reg (prometheus.DefaultRegisterer
// when nil) and returns them. When reg already holds them, registered by an
// earlier New, it returns those (their buckets are the earlier call's). It
// returns an error when reg holds other metrics of the same names.
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	o := options{buckets: DefaultBuckets}
	for _, opt := range opts {
		opt(&o)
	}
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		created: counter("sessionkit_sessions_created_total",
			"Sessions first stored (on the cookie driver: first sent)."),
		loaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionkit_sessions_loaded_total",
			Help: "Requests whose session was loaded, by what the cookie or token gave: found (a live session), new (none), expired (a session that expired, ended or was never stored), invalid (forged, truncated, another key, or a corrupt record).",
		}, []string{"result"}),
		destroyed: counter("sessionkit_sessions_destroyed_total",
			"Sessions ended by Destroy, DestroyOtherSessions, DestroyUserSessions or DestroyUserSession."),
		regenerated: counter("sessionkit_sessions_regenerated_total",
			"Sessions given a new ID (Regenerate, Login)."),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sessionkit_store_operation_duration_seconds",
			Help:    "Time the session store took per call, by call (op) and driver, failed calls included.",
			Buckets: o.buckets,
		}, []string{"op", "driver"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sessionkit_store_errors_total",
			Help: "Session store calls that failed, by call (op) and driver.",
		}, []string{"op", "driver"}),
		csrf: counter("sessionkit_csrf_rejected_total",
			"Requests refused by VerifyCSRF."),
		swept: counter("sessionkit_sweep_removed_total",
			"Expired sessions removed by sweeps."),
		ops: map[opKey]*opMetrics{},
	}
	if err := reg.Register(m); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*Metrics); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("promsession: registering the metrics: %w", err)
	}
	m.found = m.loaded.WithLabelValues(string(session.LoadFound))
	m.fresh = m.loaded.WithLabelValues(string(session.LoadNew))
	m.expired = m.loaded.WithLabelValues(string(session.LoadExpired))
	m.invalid = m.loaded.WithLabelValues(string(session.LoadInvalid))
	m.hooks = &session.Hooks{
		SessionLoaded:      m.sessionLoaded,
		SessionCreated:     func(context.Context) { m.created.Inc() },
		SessionDestroyed:   func(context.Context) { m.destroyed.Inc() },
		SessionRegenerated: func(context.Context) { m.regenerated.Inc() },
		CSRFRejected:       func(context.Context) { m.csrf.Inc() },
		Swept:              m.sweptHook,
		StoreCall:          m.storeCall,
	}
	return m, nil
}

// Hooks returns the hooks that feed the metrics, for session.Config.Hooks.
// Every call returns the same Hooks, which any number of Managers may share.
func (m *Metrics) Hooks() *session.Hooks { return m.hooks }

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.created, m.loaded, m.destroyed, m.regenerated, m.duration, m.errors, m.csrf, m.swept}
}

func (m *Metrics) sessionLoaded(_ context.Context, r session.LoadResult) {
	switch r {
	case session.LoadFound:
		m.found.Inc()
	case session.LoadNew:
		m.fresh.Inc()
	case session.LoadExpired:
		m.expired.Inc()
	case session.LoadInvalid:
		m.invalid.Inc()
	default:
		m.loaded.WithLabelValues(string(r)).Inc()
	}
}

func (m *Metrics) sweptHook(_ context.Context, removed int, _ error) {
	if removed > 0 {
		m.swept.Add(float64(removed))
	}
}

func (m *Metrics) storeCall(ctx context.Context, driver, op string) (context.Context, func(error)) {
	om := m.op(driver, op)
	start := time.Now()
	return ctx, func(err error) {
		om.duration.Observe(time.Since(start).Seconds())
		if err != nil {
			om.errors.Inc()
		}
	}
}

// op returns the metrics of one store call, made on its first use.
func (m *Metrics) op(driver, op string) *opMetrics {
	k := opKey{driver, op}
	m.mu.RLock()
	om := m.ops[k]
	m.mu.RUnlock()
	if om != nil {
		return om
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if om = m.ops[k]; om == nil {
		om = &opMetrics{duration: m.duration.WithLabelValues(op, driver), errors: m.errors.WithLabelValues(op, driver)}
		m.ops[k] = om
	}
	return om
}
