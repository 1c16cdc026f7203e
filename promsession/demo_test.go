package promsession_test

import (
	"bytes"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/hooktest"
	"github.com/sessionkit/session/internal/promtext"
	"github.com/sessionkit/session/promsession"
	"github.com/sessionkit/session/storetest"
)

// The demo's /metrics (internal/promtext, standard library only) and
// promsession give the same metrics for the same events: names, help,
// types, labels, counts and histogram buckets (the observed durations
// themselves differ: each side times the calls itself).
func TestSameAsDemo(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	pm, err := promsession.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	demo := promtext.New()
	hooks := hooktest.Tee(pm.Hooks(), demo.Hooks())

	ctx := t.Context()
	m, p := hooktest.RedisBehindProxy(t, hooks)
	c := hooktest.NewClient(t, hooktest.Handler(m))
	for _, path := range []string{"/", "/put", "/", "/regenerate"} {
		c.Get(ctx, path)
	}
	c.Post(ctx, "/form", url.Values{})
	p.Set(faultproxy.Down)
	if status := c.Get(ctx, "/"); status != http.StatusInternalServerError {
		t.Fatalf("status %d with Redis down", status)
	}
	p.Set(faultproxy.Up)
	c.Get(ctx, "/destroy")
	c.SetCookie("forged")
	c.Get(ctx, "/")
	mem := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: hooks, Lifetime: time.Second})
	hooktest.NewClient(t, hooktest.Handler(mem)).Get(ctx, "/put")
	time.Sleep(1100 * time.Millisecond)
	if n, err := mem.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("Sweep: %d, %v", n, err)
	}

	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := demo.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	got, err := parser.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("the demo's output does not parse: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("the demo has metrics %v, promsession %d", slices.Sorted(maps.Keys(got)), len(want))
	}
	for _, w := range want {
		g := got[w.GetName()]
		if g == nil {
			t.Errorf("the demo has no %s", w.GetName())
			continue
		}
		if g.GetHelp() != w.GetHelp() || g.GetType() != w.GetType() {
			t.Errorf("%s: the demo's help %q, type %v; promsession's %q, %v", w.GetName(), g.GetHelp(), g.GetType(), w.GetHelp(), w.GetType())
		}
		if len(g.GetMetric()) != len(w.GetMetric()) {
			t.Errorf("%s: the demo has %d series, promsession %d", w.GetName(), len(g.GetMetric()), len(w.GetMetric()))
			continue
		}
		for i, wm := range w.GetMetric() {
			if s, ws := series(g.GetMetric()[i]), series(wm); s != ws {
				t.Errorf("%s: the demo has %s, promsession %s", w.GetName(), s, ws)
			}
		}
	}
}

// series describes m but for the times a histogram observed (its +Inf
// bucket is the count).
func series(m *dto.Metric) string {
	var b bytes.Buffer
	for _, l := range m.GetLabel() {
		b.WriteString(l.GetName() + "=" + l.GetValue() + " ")
	}
	if h := m.GetHistogram(); h != nil {
		b.WriteString("count=" + model.SampleValue(h.GetSampleCount()).String() + " le=")
		for _, bk := range h.GetBucket() {
			if math.IsInf(bk.GetUpperBound(), +1) {
				continue // implicit in client_golang's
			}
			b.WriteString(model.SampleValue(bk.GetUpperBound()).String() + ",")
		}
		return b.String()
	}
	b.WriteString("value=" + model.SampleValue(m.GetCounter().GetValue()).String())
	return b.String()
}
