package otelsession_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/hooktest"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/otelsession"
	"github.com/sessionkit/session/storetest"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopRedis()
	os.Exit(code)
}

// env is a Telemetry on SDK providers whose metrics and spans a test reads.
type env struct {
	t      *testing.T
	tel    *otelsession.Telemetry
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e, mp := newProviders(t)
	tel, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithTracerProvider(e.tp))
	if err != nil {
		t.Fatal(err)
	}
	e.tel = tel
	return e
}

// newProviders returns an env without its Telemetry, and its MeterProvider.
func newProviders(t *testing.T) (*env, *sdkmetric.MeterProvider) {
	e := &env{t: t, reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	t.Cleanup(func() {
		mp.Shutdown(context.Background())
		e.tp.Shutdown(context.Background())
	})
	return e, mp
}

// collect returns the metrics collected now, by name.
func (e *env) collect() map[string]metricdata.Aggregation {
	e.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelsession.ScopeName {
			e.t.Errorf("scope %q, want %q", sm.Scope.Name, otelsession.ScopeName)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// sum returns the value of the counter name with attributes attrs (name,
// value pairs; exactly those), 0 when absent.
func (e *env) sum(name string, attrs ...string) int64 {
	e.t.Helper()
	data, ok := e.collect()[name]
	if !ok {
		return 0
	}
	s, ok := data.(metricdata.Sum[int64])
	if !ok || !s.IsMonotonic {
		e.t.Fatalf("%s is a %T, want a monotonic int64 sum", name, data)
	}
	for _, dp := range s.DataPoints {
		if sameAttrs(dp.Attributes, attrs) {
			return dp.Value
		}
	}
	return 0
}

// observations returns how many store calls op on driver the histogram
// observed.
func (e *env) observations(op, driver string) uint64 {
	e.t.Helper()
	h, ok := e.collect()["sessionkit.store.operation.duration"].(metricdata.Histogram[float64])
	if !ok {
		return 0
	}
	for _, dp := range h.DataPoints {
		if sameAttrs(dp.Attributes, []string{"op", op, "driver", driver}) {
			return dp.Count
		}
	}
	return 0
}

func sameAttrs(set attribute.Set, want []string) bool {
	if set.Len() != len(want)/2 {
		return false
	}
	for i := 0; i < len(want); i += 2 {
		if v, ok := set.Value(attribute.Key(want[i])); !ok || v.AsString() != want[i+1] {
			return false
		}
	}
	return true
}

// checkCalls checks that the histogram observed every store call calls
// counted, under its op and driver, the error counter its failures, and
// that each call has its span.
func (e *env) checkCalls(calls *hooktest.Calls) {
	e.t.Helper()
	spans := map[[2]string]int{}
	for _, s := range e.spans.Ended() {
		if !strings.HasPrefix(s.Name(), "sessionkit.") {
			continue // a request's
		}
		var driver, op string
		for _, a := range s.Attributes() {
			switch a.Key {
			case "sessionkit.store.driver":
				driver = a.Value.AsString()
			case "sessionkit.store.op":
				op = a.Value.AsString()
			}
		}
		if s.Name() != "sessionkit.store."+op {
			e.t.Errorf("span %q has op %q", s.Name(), op)
		}
		spans[[2]string{driver, op}]++
	}
	n := 0
	calls.Each(func(driver, op string, count, errors int) {
		n++
		if got := e.observations(op, driver); got != uint64(count) {
			e.t.Errorf("duration{op=%q,driver=%q}: %d observations, want %d", op, driver, got, count)
		}
		if got := e.sum("sessionkit.store.errors", "op", op, "driver", driver); got != int64(errors) {
			e.t.Errorf("errors{op=%q,driver=%q} = %d, want %d", op, driver, got, errors)
		}
		if got := spans[[2]string{driver, op}]; got != count {
			e.t.Errorf("%d spans of %s on %s, want %d", got, op, driver, count)
		}
	})
	if n == 0 {
		e.t.Error("no store call was made")
	}
}

// A forged cookie counts as an invalid load and reaches no store.
func TestForgedCookieIsInvalid(t *testing.T) {
	e := newEnv(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: e.tel.Hooks()})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	c.SetCookie("Zm9yZ2VkLWNvb2tpZS12YWx1ZQ.not-a-signature")
	if status := c.Get(t.Context(), "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	for _, r := range []string{"found", "new", "expired"} {
		if got := e.sum("sessionkit.sessions.loaded", "result", r); got != 0 {
			t.Errorf("loaded{result=%q} = %d, want 0", r, got)
		}
	}
	if got := e.sum("sessionkit.sessions.loaded", "result", "invalid"); got != 1 {
		t.Errorf(`loaded{result="invalid"} = %d, want 1`, got)
	}
	if got := len(e.spans.Ended()); got != 0 {
		t.Errorf("a forged cookie reached the store: %d spans", got)
	}
}

// A POST without the session's token is refused and counted.
func TestRefusedPostCountsCSRF(t *testing.T) {
	e := newEnv(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: e.tel.Hooks()})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	c.Get(t.Context(), "/put")
	if status := c.Post(t.Context(), "/form", url.Values{"k": {"v"}}); status != http.StatusForbidden {
		t.Fatalf("POST without a token: status %d, want 403", status)
	}
	if got := e.sum("sessionkit.csrf.rejected"); got != 1 {
		t.Errorf("csrf.rejected = %d, want 1", got)
	}
}

// A session's life: new, created, found, regenerated, destroyed, and its
// old cookie expired afterwards; each store call observed once, under its
// op and driver, in a span that is a child of the request's span.
func TestLifecycleAndSpans(t *testing.T) {
	e := newEnv(t)
	calls := hooktest.NewCalls()
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: calls.Wrap(e.tel.Hooks())})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	requests := e.tp.Tracer("test")
	var parents []trace.SpanContext
	get := func(path string) {
		t.Helper()
		ctx, span := requests.Start(t.Context(), "GET "+path)
		defer span.End()
		parents = append(parents, span.SpanContext())
		if status := c.Get(ctx, path); status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, status)
		}
	}
	for _, path := range []string{"/", "/put", "/", "/regenerate"} {
		get(path)
	}
	old := c.Cookie()
	get("/destroy")
	c.SetCookie(old)
	get("/")

	for _, w := range []struct {
		name  string
		attrs []string
		want  int64
	}{
		{"sessionkit.sessions.loaded", []string{"result", "new"}, 2},
		{"sessionkit.sessions.loaded", []string{"result", "found"}, 3},
		{"sessionkit.sessions.loaded", []string{"result", "expired"}, 1},
		{"sessionkit.sessions.created", nil, 1},
		{"sessionkit.sessions.regenerated", nil, 1},
		{"sessionkit.sessions.destroyed", nil, 1},
	} {
		if got := e.sum(w.name, w.attrs...); got != w.want {
			t.Errorf("%s%v = %d, want %d", w.name, w.attrs, got, w.want)
		}
	}
	e.checkCalls(calls)
	if got := e.observations("load", "memory"); got != 4 {
		t.Errorf("load observations: %d, want 4 (the requests with a cookie)", got)
	}

	// Every store span is a child of one of the requests' spans, in its
	// trace, and of kind internal.
	stores := 0
	for _, s := range e.spans.Ended() {
		if !strings.HasPrefix(s.Name(), "sessionkit.store.") {
			continue
		}
		stores++
		if !slices.ContainsFunc(parents, func(p trace.SpanContext) bool {
			return s.Parent().SpanID() == p.SpanID() && s.SpanContext().TraceID() == p.TraceID()
		}) {
			t.Errorf("span %s is not a child of a request's span (parent %v)", s.Name(), s.Parent().SpanID())
		}
		if s.SpanKind() != trace.SpanKindInternal || s.Status().Code != codes.Unset {
			t.Errorf("span %s: kind %v, status %v", s.Name(), s.SpanKind(), s.Status())
		}
	}
	if stores == 0 {
		t.Error("no store span")
	}
}

// A sweep's removed sessions are counted.
func TestSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: e.tel.Hooks(), Lifetime: time.Second})
	h := hooktest.Handler(m)
	for range 3 {
		hooktest.NewClient(t, h).Get(t.Context(), "/put")
	}
	time.Sleep(1100 * time.Millisecond) // the sessions expire
	if n, err := m.Sweep(t.Context()); err != nil || n != 3 {
		t.Fatalf("Sweep: %d, %v; want 3 removed", n, err)
	}
	if got := e.sum("sessionkit.sweep.removed"); got != 3 {
		t.Errorf("sweep.removed = %d, want 3", got)
	}
	if got := e.observations("sweep", "memory"); got != 1 {
		t.Errorf("sweep observations: %d, want 1", got)
	}
}

// A Redis outage (the fault proxy refusing connections) counts the failed
// store call under its op and the redis driver, and its span has status
// Error and an error.type, without the error's text ("redisstore: load:
// EOF"; a driver's may name the session ID).
func TestStoreOutage(t *testing.T) {
	e := newEnv(t)
	calls := hooktest.NewCalls()
	m, p := hooktest.RedisBehindProxy(t, calls.Wrap(e.tel.Hooks()))
	c := hooktest.NewClient(t, hooktest.Handler(m))
	ctx := t.Context()
	if status := c.Get(ctx, "/put"); status != http.StatusOK {
		t.Fatalf("status %d with Redis up", status)
	}
	p.Set(faultproxy.Down)
	if status := c.Get(ctx, "/"); status != http.StatusInternalServerError {
		t.Fatalf("status %d with Redis down, want 500", status)
	}
	if got := e.sum("sessionkit.store.errors", "op", "load", "driver", "redis"); got != 1 {
		t.Errorf(`store.errors{op="load",driver="redis"} = %d, want 1`, got)
	}
	p.Set(faultproxy.Up)
	if status := c.Get(ctx, "/"); status != http.StatusOK {
		t.Fatalf("status %d once Redis is back", status)
	}
	e.checkCalls(calls)

	failed := 0
	for _, s := range e.spans.Ended() {
		if s.Status().Code != codes.Error {
			continue
		}
		failed++
		var typ string
		for _, a := range s.Attributes() {
			if a.Key == "error.type" {
				typ = a.Value.AsString()
			}
			if strings.Contains(a.Value.Emit(), "redisstore") {
				t.Errorf("span %s: attribute %s holds the error's text: %q", s.Name(), a.Key, a.Value.Emit())
			}
		}
		if s.Name() != "sessionkit.store.load" || typ != "io.EOF" || s.Status().Description != typ || len(s.Events()) != 0 {
			t.Errorf("failed span %s: error.type %q, status %v, %d events", s.Name(), typ, s.Status(), len(s.Events()))
		}
		t.Logf("failed span %s: error.type %q", s.Name(), typ)
	}
	if failed != 1 {
		t.Errorf("%d failed spans, want 1", failed)
	}
}

// OTel's Prometheus exporter gives the instruments sessionkit's Prometheus
// names and labels (the names of API.md), the histogram its buckets.
func TestPrometheusExporterNames(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer mp.Shutdown(context.Background())
	tel, err := otelsession.New(otelsession.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	// Every event, each on a real Manager.
	m, p := hooktest.RedisBehindProxy(t, tel.Hooks())
	c := hooktest.NewClient(t, hooktest.Handler(m))
	ctx := t.Context()
	c.Get(ctx, "/put")
	c.Get(ctx, "/regenerate")
	c.Post(ctx, "/form", nil)
	p.Set(faultproxy.Down)
	if status := c.Get(ctx, "/"); status != http.StatusInternalServerError {
		t.Fatalf("status %d with Redis down, want 500", status)
	}
	p.Set(faultproxy.Up)
	c.Get(ctx, "/destroy")
	c.SetCookie("forged")
	c.Get(ctx, "/")
	mem := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: tel.Hooks(), Lifetime: time.Second})
	hooktest.NewClient(t, hooktest.Handler(mem)).Get(ctx, "/put")
	time.Sleep(1100 * time.Millisecond)
	if n, err := mem.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep: %d, %v", n, err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{ // name: label names, the exporter's otel_scope_* aside
		"sessionkit_sessions_created_total":           nil,
		"sessionkit_sessions_loaded_total":            {"result"},
		"sessionkit_sessions_destroyed_total":         nil,
		"sessionkit_sessions_regenerated_total":       nil,
		"sessionkit_store_operation_duration_seconds": {"driver", "op"},
		"sessionkit_store_errors_total":               {"driver", "op"},
		"sessionkit_csrf_rejected_total":              nil,
		"sessionkit_sweep_removed_total":              nil,
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "sessionkit") {
			continue
		}
		got[name] = true
		labels, ok := want[name]
		if !ok {
			t.Errorf("unexpected metric %s", name)
			continue
		}
		for _, m := range mf.GetMetric() {
			var names []string
			for _, l := range m.GetLabel() {
				if !strings.HasPrefix(l.GetName(), "otel_scope_") {
					names = append(names, l.GetName())
				}
			}
			slices.Sort(names)
			if !slices.Equal(names, labels) {
				t.Errorf("%s has labels %v, want %v", name, names, labels)
			}
			if h := m.GetHistogram(); h != nil {
				var bounds []float64
				for _, b := range h.GetBucket() {
					bounds = append(bounds, b.GetUpperBound())
				}
				if !slices.Equal(bounds, otelsession.DefaultBuckets) {
					t.Errorf("%s buckets %v, want %v", name, bounds, otelsession.DefaultBuckets)
				}
			}
		}
	}
	for name := range want {
		if !got[name] {
			t.Errorf("no %s in the exporter's output", name)
		}
	}
}

// global is the env on the global providers, set by the first
// TestGlobalProviders (with -count=N the later ones find them set).
var global struct {
	once sync.Once
	env  *env
}

// Without options New uses the global providers, even those set after it.
func TestGlobalProviders(t *testing.T) {
	tel, err := otelsession.New()
	if err != nil {
		t.Fatal(err)
	}
	global.once.Do(func() {
		e := &env{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
		e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
		otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader)))
		otel.SetTracerProvider(e.tp)
		global.env = e
	})
	e := global.env
	e.t = t
	created, spans := e.sum("sessionkit.sessions.created"), len(e.spans.Ended())
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: tel.Hooks()})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	if status := c.Get(t.Context(), "/put"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if got := e.sum("sessionkit.sessions.created") - created; got != 1 {
		t.Errorf("created: %d more through the global MeterProvider, want 1", got)
	}
	if len(e.spans.Ended()) == spans {
		t.Error("no span through the global TracerProvider")
	}
}
