// Package otelsession exports what a sessionkit Manager does through
// OpenTelemetry: metrics through the OTel metric API, and a span around each
// store call, a child of the request's span. It builds a session.Hooks:
//
//	tel, err := otelsession.New() // the global MeterProvider and TracerProvider
//	if err != nil { ... }
//	m, err := session.New(session.Config{Secret: secret, Hooks: tel.Hooks()})
//
// The instruments, and the names OTel's Prometheus exporter gives them
// (go.opentelemetry.io/otel/exporters/prometheus, default translation),
// which are sessionkit's Prometheus names:
//
//	sessionkit.sessions.created           counter   {session}  sessionkit_sessions_created_total
//	sessionkit.sessions.loaded            counter   {session}  sessionkit_sessions_loaded_total            result
//	sessionkit.sessions.destroyed         counter   {session}  sessionkit_sessions_destroyed_total
//	sessionkit.sessions.regenerated       counter   {session}  sessionkit_sessions_regenerated_total
//	sessionkit.store.operation.duration   histogram s          sessionkit_store_operation_duration_seconds  op, driver
//	sessionkit.store.errors               counter   {error}    sessionkit_store_errors_total                op, driver
//	sessionkit.csrf.rejected              counter   {request}  sessionkit_csrf_rejected_total
//	sessionkit.sweep.removed              counter   {session}  sessionkit_sweep_removed_total
//
// The spans are named "sessionkit.store.<op>" (load, update, swap, move,
// delete, touch, sweep, user_index_add, user_index_list,
// user_index_remove), of kind internal, with the attributes
// sessionkit.store.driver and sessionkit.store.op; a driver's own
// instrumentation (a traced database/sql or Redis client) nests beneath
// them. A failed call's span has status Error and the attribute error.type
// ("timeout", "canceled", "io.EOF", or the error's Go type), but not its
// message: store errors may name the record, and the record's name is the
// session ID, a credential (the Manager's log has the message).
//
// Any number of Managers may share one Telemetry's Hooks.
package otelsession

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sessionkit/session"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/sessionkit/session/otelsession"

// DefaultBuckets are the store-call histogram's explicit bucket boundaries,
// in seconds: 25 µs (a memory store) to 5 s (a store that hangs until
// Config.StoreTimeout).
var DefaultBuckets = []float64{
	0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5,
}

// An Option changes what New builds.
type Option func(*config)

type config struct {
	mp      metric.MeterProvider
	tp      trace.TracerProvider
	buckets []float64
}

// WithMeterProvider sets the MeterProvider of the metrics (default
// otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets the TracerProvider of the store-call spans
// (default otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithBuckets sets the store-call histogram's bucket boundaries, in seconds,
// in increasing order (default DefaultBuckets).
func WithBuckets(b []float64) Option {
	return func(c *config) { c.buckets = append([]float64(nil), b...) }
}

// Telemetry holds the instruments and the tracer that New made.
type Telemetry struct {
	tracer trace.Tracer

	created, loaded, destroyed, regenerated metric.Int64Counter
	duration                                metric.Float64Histogram
	storeErrors, csrf, swept                metric.Int64Counter

	results map[session.LoadResult][]metric.AddOption // loaded's attributes, by result

	mu  sync.RWMutex
	ops map[opKey]*opTelemetry // by store call

	hooks *session.Hooks
}

type opKey struct{ driver, op string }

// opTelemetry is what one store call (driver and op) needs, made once.
type opTelemetry struct {
	name   string // of the span
	span   []trace.SpanStartOption
	record []metric.RecordOption
	add    []metric.AddOption
}

// New makes the instruments and the tracer. It returns an error when the
// MeterProvider refuses an instrument.
func New(opts ...Option) (*Telemetry, error) {
	c := config{buckets: DefaultBuckets}
	for _, opt := range opts {
		opt(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	meter := c.mp.Meter(ScopeName)
	t := &Telemetry{tracer: c.tp.Tracer(ScopeName), ops: map[opKey]*opTelemetry{}}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		ctr, err := meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return ctr
	}
	t.created = counter("sessionkit.sessions.created", "{session}",
		"Sessions first stored (on the cookie driver: first sent).")
	t.loaded = counter("sessionkit.sessions.loaded", "{session}",
		"Requests whose session was loaded, by what the cookie or token gave: found (a live session), new (none), expired (a session that expired, ended or was never stored), invalid (forged, truncated, another key, or a corrupt record).")
	t.destroyed = counter("sessionkit.sessions.destroyed", "{session}",
		"Sessions ended by Destroy, DestroyOtherSessions, DestroyUserSessions or DestroyUserSession.")
	t.regenerated = counter("sessionkit.sessions.regenerated", "{session}",
		"Sessions given a new ID (Regenerate, Login).")
	t.storeErrors = counter("sessionkit.store.errors", "{error}",
		"Session store calls that failed, by call (op) and driver.")
	t.csrf = counter("sessionkit.csrf.rejected", "{request}",
		"Requests refused by VerifyCSRF.")
	t.swept = counter("sessionkit.sweep.removed", "{session}",
		"Expired sessions removed by sweeps.")
	var err error
	t.duration, err = meter.Float64Histogram("sessionkit.store.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Time the session store took per call, by call (op) and driver, failed calls included."),
		metric.WithExplicitBucketBoundaries(c.buckets...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelsession: %w", err)
	}

	t.results = map[session.LoadResult][]metric.AddOption{}
	for _, r := range []session.LoadResult{session.LoadFound, session.LoadNew, session.LoadExpired, session.LoadInvalid} {
		t.results[r] = resultAttrs(r)
	}
	t.hooks = &session.Hooks{
		SessionLoaded:      t.sessionLoaded,
		SessionCreated:     func(ctx context.Context) { t.created.Add(ctx, 1) },
		SessionDestroyed:   func(ctx context.Context) { t.destroyed.Add(ctx, 1) },
		SessionRegenerated: func(ctx context.Context) { t.regenerated.Add(ctx, 1) },
		CSRFRejected:       func(ctx context.Context) { t.csrf.Add(ctx, 1) },
		Swept:              t.sweptHook,
		StoreCall:          t.storeCall,
	}
	return t, nil
}

// Hooks returns the hooks that feed the instruments and start the spans,
// for session.Config.Hooks. Every call returns the same Hooks, which any
// number of Managers may share.
func (t *Telemetry) Hooks() *session.Hooks { return t.hooks }

func resultAttrs(r session.LoadResult) []metric.AddOption {
	return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("result", string(r))))}
}

func (t *Telemetry) sessionLoaded(ctx context.Context, r session.LoadResult) {
	attrs, ok := t.results[r]
	if !ok {
		attrs = resultAttrs(r)
	}
	t.loaded.Add(ctx, 1, attrs...)
}

func (t *Telemetry) sweptHook(ctx context.Context, removed int, _ error) {
	if removed > 0 {
		t.swept.Add(ctx, int64(removed))
	}
}

func (t *Telemetry) storeCall(ctx context.Context, driver, op string) (context.Context, func(error)) {
	o := t.op(driver, op)
	ctx, span := t.tracer.Start(ctx, o.name, o.span...)
	start := time.Now()
	return ctx, func(err error) {
		t.duration.Record(ctx, time.Since(start).Seconds(), o.record...)
		if err != nil {
			t.storeErrors.Add(ctx, 1, o.add...)
			if span.IsRecording() {
				typ := errorType(err)
				span.SetAttributes(attribute.String("error.type", typ))
				span.SetStatus(codes.Error, typ)
			}
		}
		span.End()
	}
}

// op returns what the store call op on driver needs, made on its first use.
func (t *Telemetry) op(driver, op string) *opTelemetry {
	k := opKey{driver, op}
	t.mu.RLock()
	o := t.ops[k]
	t.mu.RUnlock()
	if o != nil {
		return o
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if o = t.ops[k]; o == nil {
		set := attribute.NewSet(attribute.String("op", op), attribute.String("driver", driver))
		o = &opTelemetry{
			name: "sessionkit.store." + op,
			span: []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithAttributes(attribute.String("sessionkit.store.driver", driver), attribute.String("sessionkit.store.op", op)),
			},
			record: []metric.RecordOption{metric.WithAttributeSet(set)},
			add:    []metric.AddOption{metric.WithAttributeSet(set)},
		}
		t.ops[k] = o
	}
	return o
}

// errorType names err for the error.type attribute without its message:
// "timeout" for a deadline, "canceled" for a canceled call, "io.EOF" or
// "io.ErrUnexpectedEOF" for a connection the server closed, else the Go type
// of the first error of its chain whose type is exported (such as
// *net.OpError), or of the last error of the chain. The unexported types
// before it are wrappers that only annotate the message (fmt.Errorf's, and
// the stores' own, such as sqlstore's, which takes its prefix off the
// driver's message) and would name the store's internals rather than the
// failure.
func errorType(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.EOF):
		return "io.EOF"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "io.ErrUnexpectedEOF"
	}
	for {
		typ := fmt.Sprintf("%T", err)
		next := errors.Unwrap(err)
		if next == nil || exportedType(typ) {
			return typ
		}
		err = next
	}
}

// exportedType reports whether typ, as %T writes a type ("*net.OpError",
// "sqlstore.unprefixed"), names an exported type.
func exportedType(typ string) bool {
	r, _ := utf8.DecodeRuneInString(typ[strings.LastIndexByte(typ, '.')+1:])
	return unicode.IsUpper(r)
}
