package otelsession_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sessionkit/session"
	"github.com/sessionkit/session/otelsession"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A Manager whose metrics go through OpenTelemetry's Prometheus exporter
// and whose store calls are spans within the request's trace. In an
// application the providers are the ones set up at start (often the global
// ones, otelsession.New's default), the spans going to an OTLP exporter.
func Example() {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		log.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))

	tel, err := otelsession.New(otelsession.WithMeterProvider(mp), otelsession.WithTracerProvider(tp))
	if err != nil {
		log.Fatal(err)
	}
	m, err := session.New(session.Config{
		Secret: "example secret - at least 32 bytes long, not for production",
		Driver: "memory",
		Hooks:  tel.Hooks(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	app := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.FromRequest(r).Put("visits", 1)
	}))
	// A first visit, within a request span (as otelhttp would start it).
	ctx, request := tp.Tracer("app").Start(context.Background(), "GET /")
	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, "GET", "/", nil))
	request.End()

	for _, s := range spans.Ended() {
		if s.Parent().SpanID() == request.SpanContext().SpanID() {
			fmt.Printf("span %s, child of %q\n", s.Name(), "GET /")
		}
	}
	scrape := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(scrape, httptest.NewRequest("GET", "/metrics", nil))
	for sc := bufio.NewScanner(scrape.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "sessionkit_sessions_") {
			fmt.Println(line)
		}
	}
	// Output:
	// span sessionkit.store.swap, child of "GET /"
	// sessionkit_sessions_created_total{otel_scope_name="github.com/sessionkit/session/otelsession",otel_scope_schema_url="",otel_scope_version=""} 1
	// sessionkit_sessions_loaded_total{otel_scope_name="github.com/sessionkit/session/otelsession",otel_scope_schema_url="",otel_scope_version="",result="new"} 1
}
