package promsession_test

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/faultproxy"
	"github.com/sessionkit/session/internal/hooktest"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/promsession"
	"github.com/sessionkit/session/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopRedis()
	os.Exit(code)
}

// newMetrics returns Metrics on a registry of their own.
func newMetrics(t *testing.T) (*promsession.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	pm, err := promsession.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	return pm, reg
}

// value returns the value of the counter name{labels} in reg (0 when
// absent).
func value(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	if m := find(t, reg, name, labels...); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

// find returns the metric name{labels} in reg, labels given as name, value
// pairs, or nil.
func find(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for i := 0; i < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			return m
		}
	}
	return nil
}

// A forged cookie counts as an invalid load, and nothing else.
func TestForgedCookieIsInvalid(t *testing.T) {
	pm, reg := newMetrics(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: pm.Hooks()})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	c.SetCookie("Zm9yZ2VkLWNvb2tpZS12YWx1ZQ.not-a-signature")
	if status := c.Get(t.Context(), "/"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	err := testutil.CollectAndCompare(pm, strings.NewReader(`
# HELP sessionkit_sessions_loaded_total Requests whose session was loaded, by what the cookie or token gave: found (a live session), new (none), expired (a session that expired, ended or was never stored), invalid (forged, truncated, another key, or a corrupt record).
# TYPE sessionkit_sessions_loaded_total counter
sessionkit_sessions_loaded_total{result="expired"} 0
sessionkit_sessions_loaded_total{result="found"} 0
sessionkit_sessions_loaded_total{result="invalid"} 1
sessionkit_sessions_loaded_total{result="new"} 0
`), "sessionkit_sessions_loaded_total")
	if err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(pm, "sessionkit_store_operation_duration_seconds"); n != 0 {
		t.Errorf("a forged cookie reached the store: %d store-call series", n)
	}
	if value(t, reg, "sessionkit_sessions_created_total") != 0 {
		t.Error("a request that stored nothing counted a created session")
	}
}

// A POST without the session's token is refused and counted.
func TestRefusedPostCountsCSRF(t *testing.T) {
	pm, reg := newMetrics(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: pm.Hooks()})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	c.Get(t.Context(), "/put")
	if status := c.Post(t.Context(), "/form", url.Values{"k": {"v"}}); status != http.StatusForbidden {
		t.Fatalf("POST without a token: status %d, want 403", status)
	}
	if status := c.Post(t.Context(), "/form", url.Values{"_token": {"forged"}}); status != http.StatusForbidden {
		t.Fatalf("POST with a forged token: status %d, want 403", status)
	}
	if got := value(t, reg, "sessionkit_csrf_rejected_total"); got != 2 {
		t.Errorf("csrf_rejected_total = %v, want 2", got)
	}
}

// A session's life: new, created, found, regenerated, destroyed, and its
// old cookie expired afterwards; each store call observed once in the
// histogram, under its op and driver.
func TestLifecycle(t *testing.T) {
	pm, reg := newMetrics(t)
	calls := hooktest.NewCalls()
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: calls.Wrap(pm.Hooks())})
	c := hooktest.NewClient(t, hooktest.Handler(m))
	ctx := t.Context()
	for _, path := range []string{"/", "/put", "/", "/regenerate"} {
		if status := c.Get(ctx, path); status != http.StatusOK {
			t.Fatalf("GET %s: status %d", path, status)
		}
	}
	old := c.Cookie()
	c.Get(ctx, "/destroy")
	c.SetCookie(old)
	c.Get(ctx, "/")

	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sessionkit_sessions_loaded_total", []string{"result", "new"}, 2},   // no cookie at /, then /put
		{"sessionkit_sessions_loaded_total", []string{"result", "found"}, 3}, // /, /regenerate, /destroy
		{"sessionkit_sessions_loaded_total", []string{"result", "expired"}, 1},
		{"sessionkit_sessions_loaded_total", []string{"result", "invalid"}, 0},
		{"sessionkit_sessions_created_total", nil, 1},
		{"sessionkit_sessions_regenerated_total", nil, 1},
		{"sessionkit_sessions_destroyed_total", nil, 1},
		{"sessionkit_store_errors_total", []string{"op", "load", "driver", "memory"}, 0},
	} {
		if got := value(t, reg, w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	checkHistogram(t, reg, calls)
	if h := find(t, reg, "sessionkit_store_operation_duration_seconds", "op", "load", "driver", "memory"); h.GetHistogram().GetSampleCount() != 4 {
		t.Errorf("load observations: %d, want 4 (the requests with a cookie)", h.GetHistogram().GetSampleCount())
	}
}

// checkHistogram checks that reg's histogram observed every store call that
// calls counted, under its op and driver, and its errors likewise.
func checkHistogram(t *testing.T, reg prometheus.Gatherer, calls *hooktest.Calls) {
	t.Helper()
	n := 0
	calls.Each(func(driver, op string, count, errors int) {
		n++
		h := find(t, reg, "sessionkit_store_operation_duration_seconds", "op", op, "driver", driver)
		if got := h.GetHistogram().GetSampleCount(); got != uint64(count) {
			t.Errorf("duration{op=%q,driver=%q}: %d observations, want %d", op, driver, got, count)
		}
		if got := value(t, reg, "sessionkit_store_errors_total", "op", op, "driver", driver); got != float64(errors) {
			t.Errorf("errors_total{op=%q,driver=%q} = %v, want %d", op, driver, got, errors)
		}
	})
	if n == 0 {
		t.Error("no store call was made")
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "sessionkit_store_operation_duration_seconds" && len(mf.GetMetric()) != n {
			t.Errorf("%d histogram series, want %d", len(mf.GetMetric()), n)
		}
	}
}

// A sweep's removed sessions are counted.
func TestSweep(t *testing.T) {
	pm, reg := newMetrics(t)
	m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: pm.Hooks(), Lifetime: time.Second})
	h := hooktest.Handler(m)
	for range 3 {
		hooktest.NewClient(t, h).Get(t.Context(), "/put")
	}
	time.Sleep(1100 * time.Millisecond) // the sessions expire
	n, err := m.Sweep(t.Context())
	if err != nil || n != 3 {
		t.Fatalf("Sweep: %d, %v; want 3 removed", n, err)
	}
	if got := value(t, reg, "sessionkit_sweep_removed_total"); got != 3 {
		t.Errorf("sweep_removed_total = %v, want 3", got)
	}
	if h := find(t, reg, "sessionkit_store_operation_duration_seconds", "op", "sweep", "driver", "memory"); h.GetHistogram().GetSampleCount() != 1 {
		t.Errorf("sweep observations: %d, want 1", h.GetHistogram().GetSampleCount())
	}
}

// A Redis outage (the fault proxy refusing connections) counts the failed
// store call under its op and the redis driver; once Redis is back the
// same session loads again.
func TestStoreOutage(t *testing.T) {
	pm, reg := newMetrics(t)
	calls := hooktest.NewCalls()
	m, p := hooktest.RedisBehindProxy(t, calls.Wrap(pm.Hooks()))
	c := hooktest.NewClient(t, hooktest.Handler(m))
	ctx := t.Context()
	if status := c.Get(ctx, "/put"); status != http.StatusOK {
		t.Fatalf("status %d with Redis up", status)
	}
	p.Set(faultproxy.Down)
	for range 2 {
		if status := c.Get(ctx, "/"); status != http.StatusInternalServerError {
			t.Fatalf("status %d with Redis down, want 500", status)
		}
	}
	if got := value(t, reg, "sessionkit_store_errors_total", "op", "load", "driver", "redis"); got != 2 {
		t.Errorf(`store_errors_total{op="load",driver="redis"} = %v, want 2`, got)
	}
	p.Set(faultproxy.Up)
	if status := c.Get(ctx, "/"); status != http.StatusOK {
		t.Fatalf("status %d once Redis is back", status)
	}
	if got := value(t, reg, "sessionkit_sessions_loaded_total", "result", "found"); got != 1 {
		t.Errorf("found loads = %v, want 1 (after the outage)", got)
	}
	checkHistogram(t, reg, calls)
}

// Two Managers in one process: sharing one Metrics (New twice on one
// registerer gives the same), or each with its own, told apart by a label
// the registerer adds.
func TestTwoManagers(t *testing.T) {
	t.Run("shared", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		a, err := promsession.New(reg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := promsession.New(reg, promsession.WithBuckets([]float64{1}))
		if err != nil {
			t.Fatalf("New again on the same registerer: %v", err)
		}
		if a != b {
			t.Error("New again on the same registerer returned other Metrics")
		}
		m1 := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: a.Hooks()})
		m2 := storetest.NewManager(t, nil, session.Config{Driver: "file", Files: t.TempDir(), Hooks: b.Hooks()})
		hooktest.NewClient(t, hooktest.Handler(m1)).Get(t.Context(), "/put")
		hooktest.NewClient(t, hooktest.Handler(m2)).Get(t.Context(), "/put")
		if got := value(t, reg, "sessionkit_sessions_created_total"); got != 2 {
			t.Errorf("created_total = %v, want 2 (one per Manager)", got)
		}
		for _, driver := range []string{"memory", "file"} {
			if find(t, reg, "sessionkit_store_operation_duration_seconds", "driver", driver) == nil {
				t.Errorf("no store call observed on the %s driver", driver)
			}
		}
	})
	t.Run("labelled", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		for i, name := range []string{"admin", "public"} {
			pm, err := promsession.New(prometheus.WrapRegistererWith(prometheus.Labels{"manager": name}, reg))
			if err != nil {
				t.Fatalf("New wrapped with manager=%s: %v", name, err)
			}
			m := storetest.NewManager(t, nil, session.Config{Driver: "memory", Hooks: pm.Hooks()})
			for range i + 1 {
				hooktest.NewClient(t, hooktest.Handler(m)).Get(t.Context(), "/put")
			}
		}
		if got := value(t, reg, "sessionkit_sessions_created_total", "manager", "admin"); got != 1 {
			t.Errorf(`created_total{manager="admin"} = %v, want 1`, got)
		}
		if got := value(t, reg, "sessionkit_sessions_created_total", "manager", "public"); got != 2 {
			t.Errorf(`created_total{manager="public"} = %v, want 2`, got)
		}
	})
}

// New refuses, with an error and no panic, a registerer that holds other
// metrics of the same names.
func TestNameConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "sessionkit_sessions_created_total", Help: "someone else's"}))
	pm, err := promsession.New(reg)
	if err == nil || pm != nil || !strings.HasPrefix(err.Error(), "promsession: ") {
		t.Fatalf("New = %v, %v; want a promsession error", pm, err)
	}
	if n, _ := testutil.GatherAndCount(reg); n != 1 {
		t.Errorf("the registry holds %d metrics after the refused New, want 1", n)
	}
}
