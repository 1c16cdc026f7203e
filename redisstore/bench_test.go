package redisstore_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/cputime"
	"github.com/sessionkit/session/internal/testserver"
	"github.com/sessionkit/session/redisstore"
	"github.com/sessionkit/session/storetest"
)

// BenchmarkRequest measures one request through the middleware over Redis,
// as the root package's BenchmarkRequest does for the built-in stores: a new
// visitor whose handler puts a value (new), an existing session read (read),
// written (write) and not touched (untouched). Besides time and allocations
// it reports round-trips/op, the commands and pipelines sent to Redis per
// request.
func BenchmarkRequest(b *testing.B) {
	for _, topo := range []struct {
		name   string
		client func(b *testing.B, rt *roundTrips) redis.UniversalClient
	}{
		{"single", func(b *testing.B, rt *roundTrips) redis.UniversalClient {
			c := redis.NewClient(&redis.Options{Addr: testserver.Redis(b), ContextTimeoutEnabled: true})
			c.AddHook(rt)
			return c
		}},
		{"cluster", func(b *testing.B, rt *roundTrips) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testserver.RedisCluster(b), ContextTimeoutEnabled: true})
			c.OnNewNode(func(node *redis.Client) { node.AddHook(rt) })
			return c
		}},
		{"sentinel", func(b *testing.B, rt *roundTrips) redis.UniversalClient {
			g := testserver.RedisSentinel(b)
			c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.MasterName, SentinelAddrs: []string{g.SentinelAddr}, ContextTimeoutEnabled: true})
			c.AddHook(rt)
			return c
		}},
	} {
		b.Run(topo.name, func(b *testing.B) {
			rt := &roundTrips{}
			client := topo.client(b, rt)
			b.Cleanup(func() { client.Close() })
			m := storetest.NewManager(b, mustNew(b, client, redisstore.Options{Prefix: freshPrefix()}), session.Config{})
			handler := func(fn func(s *session.Session)) http.Handler {
				return m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fn(session.FromRequest(r))
					w.WriteHeader(http.StatusOK)
				}))
			}
			rec := httptest.NewRecorder()
			handler(func(s *session.Session) {
				s.Put("user.id", 42)
				s.Put("user.name", "Ana")
				s.Put("cart", []string{"apple", "pear"})
				s.Token()
			}).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			cookie := rec.Result().Cookies()[0]

			run := func(b *testing.B, h http.Handler, cookie *http.Cookie) {
				r := httptest.NewRequest("GET", "/", nil)
				if cookie != nil {
					r.AddCookie(cookie)
				}
				b.ReportAllocs()
				rt.n.Store(0)
				n := 0
				report := cputime.Report(b)
				for b.Loop() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d", w.Code)
					}
					n++
				}
				report()
				b.ReportMetric(float64(rt.n.Load())/float64(n), "round-trips/op")
			}
			b.Run("new", func(b *testing.B) {
				run(b, handler(func(s *session.Session) { s.Put("visits", 1) }), nil)
			})
			b.Run("read", func(b *testing.B) {
				run(b, handler(func(s *session.Session) { _ = s.Get("user.name") }), cookie)
			})
			b.Run("write", func(b *testing.B) {
				n := 0
				run(b, handler(func(s *session.Session) { n++; s.Put("visits", n) }), cookie)
			})
			b.Run("untouched", func(b *testing.B) {
				run(b, handler(func(*session.Session) {}), cookie)
			})
		})
	}
}
