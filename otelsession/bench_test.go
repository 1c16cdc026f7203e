package otelsession_test

import (
	"context"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/otelsession"
	"github.com/sessionkit/session/storetest"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// discard is a span processor that drops every span: the spans are
// recorded, as a sampled request's are, and exported nowhere.
type discard struct{}

func (discard) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (discard) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (discard) Shutdown(context.Context) error                  { return nil }
func (discard) ForceFlush(context.Context) error                { return nil }

// BenchmarkRequest measures a request through a Manager on the memory
// driver (storetest.BenchmarkManager: new, read, write, untouched) without
// Hooks, with otelsession's metrics only (an SDK MeterProvider, the no-op
// TracerProvider), and with metrics and a recorded span per store call (an
// SDK TracerProvider sampling every span); they alternate within each
// -count, for benchstat -col /hooks.
func BenchmarkRequest(b *testing.B) {
	meters := func(b *testing.B) *sdkmetric.MeterProvider {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() { mp.Shutdown(context.Background()) })
		return mp
	}
	for _, c := range []struct {
		name  string
		hooks func(b *testing.B) *session.Hooks
	}{
		{"none", func(*testing.B) *session.Hooks { return nil }},
		{"otel-metrics", func(b *testing.B) *session.Hooks {
			tel, err := otelsession.New(otelsession.WithMeterProvider(meters(b)), otelsession.WithTracerProvider(noop.NewTracerProvider()))
			if err != nil {
				b.Fatal(err)
			}
			return tel.Hooks()
		}},
		{"otel-metrics+spans", func(b *testing.B) *session.Hooks {
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			b.Cleanup(func() { tp.Shutdown(context.Background()) })
			tel, err := otelsession.New(otelsession.WithMeterProvider(meters(b)), otelsession.WithTracerProvider(tp))
			if err != nil {
				b.Fatal(err)
			}
			return tel.Hooks()
		}},
	} {
		b.Run("hooks="+c.name, func(b *testing.B) {
			storetest.BenchmarkManager(b, storetest.NewManager(b, nil, session.Config{Driver: "memory", Hooks: c.hooks(b)}))
		})
	}
}
