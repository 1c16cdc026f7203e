package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/jsoncodec"
	"github.com/sessionkit/session/storetest"
)

// nested returns a value of n nested maps: {"k": {"k": ... "end"}}.
func nested(n int) any {
	var v any = "end"
	for range n {
		v = map[string]any{"k": v}
	}
	return v
}

// TestUnencodableValueFailsSave: a value that holds itself, or one nested
// deeper than the decoder reads, fails the save with ErrEncode and the
// ErrorHandler's response, and the stored session stays as it was; the
// deepest value the decoder reads is saved and loads back.
func TestUnencodableValueFailsSave(t *testing.T) {
	// An encoder that recursed without bound would abort the whole test
	// binary on a stack overflow (no recover catches it): with a smaller
	// limit it does so at once rather than after growing a 1 GB stack.
	defer debug.SetMaxStack(debug.SetMaxStack(256 << 20))

	eachDriver(t, func(t *testing.T, st session.Store) {
		var handled error
		m, _ := newManager(t, st, session.Config{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			handled = err
			http.Error(w, "error handler", http.StatusInternalServerError)
		}})
		c := newClient(t, m)
		var id string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("profile", map[string]any{"name": "Ana"})
			s.Put("n", 1)
			id = s.ID()
		})
		want := map[string]any{"profile": map[string]any{"name": "Ana"}, "n": 1}
		record := func() []byte {
			if st == nil {
				return []byte(c.cookie()) // the cookie driver's session is its cookie
			}
			data, _, found, err := st.Load(t.Context(), id)
			if err != nil || !found {
				t.Fatalf("load: %v, found %v", err, found)
			}
			return bytes.Clone(data)
		}
		before := record()

		for _, tc := range []struct {
			name string
			fn   handlerFunc
		}{
			{"cycle", func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				prev := s.Get("profile")
				s.Put("profile.previous", prev)
			}},
			{"list cycle", func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				l := []any{1, nil}
				l[1] = l
				s.Put("list", l)
			}},
			{"too deep", func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				// The envelope and its data object are two levels.
				s.Put("deep", nested(jsoncodec.MaxDepth-1))
			}},
		} {
			handled = nil
			res := c.do(tc.fn)
			if res.StatusCode != http.StatusInternalServerError || !errors.Is(handled, session.ErrEncode) {
				t.Fatalf("%s: status %d, error handler got %v; want 500 and ErrEncode", tc.name, res.StatusCode, handled)
			}
			if ck := sessionCookie(res); ck != nil {
				t.Errorf("%s: the failed save sent a cookie", tc.name)
			}
			if after := record(); !bytes.Equal(after, before) {
				t.Errorf("%s: the stored session changed:\n%q\n%q", tc.name, before, after)
			}
			var got map[string]any
			c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { got = s.All() })
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: next request sees %v, want %v", tc.name, got, want)
			}
		}

		if st == nil {
			return // the deepest value needs a 50 KB cookie
		}
		deepest := nested(jsoncodec.MaxDepth - 2)
		if res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) { s.Put("deep", deepest) }); res.StatusCode != http.StatusOK {
			t.Fatalf("the deepest value the decoder reads: status %d, %v", res.StatusCode, handled)
		}
		if got := c.get("deep"); !reflect.DeepEqual(got, deepest) {
			t.Error("the deepest value the decoder reads did not load back")
		}
	})
}

// TestUnencodableValueLogNamesTheKey: a value JSON cannot encode fails the
// save, and the error the Manager logs names the key that holds it, down to
// the member or list element at fault, besides the encoder's reason.
func TestUnencodableValueLogNamesTheKey(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		logs := &captureHandler{}
		cfg := session.Config{Logger: slog.New(logs)}
		if st == nil {
			cfg.Driver = "cookie"
		}
		m := storetest.NewManager(t, st, cfg)
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("profile", map[string]any{"name": "Ana"})
		})
		for _, tc := range []struct {
			fn   handlerFunc
			want string
		}{
			{func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				s.Put("profile.previous", make(chan int))
			}, `key "profile.previous": json: unsupported type: chan int`},
			{func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				s.Put("scores", []any{1.5, math.NaN()})
			}, `key "scores[1]": json: unsupported value: NaN`},
			{func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				s.Put("user", struct{ Done chan struct{} }{})
			}, `key "user": json: unsupported type: chan struct {}`},
			{func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
				prev := s.Get("profile")
				s.Put("profile.previous", prev)
			}, `key "profile.previous": json: unsupported value: encountered a cycle via map[string]interface {}`},
		} {
			logs.reset()
			if res := c.do(tc.fn); res.StatusCode != http.StatusInternalServerError {
				t.Fatalf("%s: status %d, want 500", tc.want, res.StatusCode)
			}
			got, ok := logs.errorOf("session: request failed")
			if !ok || !strings.Contains(got, tc.want) || !strings.HasPrefix(got, session.ErrEncode.Error()+": ") {
				t.Errorf("logged error %q (found %v), want ErrEncode's text and %s", got, ok, tc.want)
			}
		}
	})
}

// captureHandler is a slog.Handler that keeps the records it is given.
type captureHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

func (h *captureHandler) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = nil
}

// errorOf returns the "error" attribute of the first record with message
// msg, as text.
func (h *captureHandler) errorOf(msg string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		var text string
		found := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				text, found = a.Value.String(), true
				return false
			}
			return true
		})
		return text, found
	}
	return "", false
}

// TestCyclicValueCopies: in the request that put a value holding itself,
// All and GetAs copy it without recursing for ever (the copy holds itself
// the same way, and changing it leaves the session as it was); the save
// then fails as TestUnencodableValueFailsSave shows.
func TestCyclicValueCopies(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(256 << 20)) // see TestUnencodableValueFailsSave
	m, _ := newManager(t, nil, session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("profile", map[string]any{"name": "Ana"})
	})
	res := c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		prev := s.Get("profile")
		s.Put("profile.previous", prev)
		l := []any{"x", nil}
		l[1] = l
		s.Put("list", l)

		all := s.All()
		p := all["profile"].(map[string]any)
		if q, ok := p["previous"].(map[string]any); !ok || reflect.ValueOf(q).Pointer() != reflect.ValueOf(p).Pointer() {
			t.Errorf("the copy of a map holding itself does not hold itself: %T", p["previous"])
		}
		p["name"] = "changed"
		if got := s.Get("profile.name"); got != "Ana" {
			t.Errorf("changing the copy changed the session: %v", got)
		}
		cl := all["list"].([]any)
		if inner, ok := cl[1].([]any); !ok || &inner[0] != &cl[0] {
			t.Errorf("the copy of a list holding itself does not hold itself")
		}
		if _, err := session.GetAs[struct{ Name string }](s, "profile"); !errors.Is(err, session.ErrType) {
			t.Errorf("GetAs of a value holding itself: %v, want ErrType", err)
		}
		if got, err := session.GetAs[map[string]any](s, "profile"); err != nil || got["name"] != "Ana" {
			t.Errorf("GetAs as a map: %v, %v", got, err)
		}
	})
	if res.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", res.StatusCode)
	}
}
