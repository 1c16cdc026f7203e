package session_test

import (
	"bytes"
	"errors"
	"net/http"
	"reflect"
	"runtime/debug"
	"testing"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/jsoncodec"
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
