package session_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

type user struct {
	Name  string    `json:"name"`
	Age   int       `json:"age"`
	Since time.Time `json:"since"`
}

func TestPutGetAcrossRequests(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("count", 5)
			s.Put("user.name", "Ana")
			s.Put("user.lang", "pt")
			s.Put("zero", 0)
			s.Put("empty", "")
			s.Put("no", false)
			s.Put("nothing", nil)
			if got := s.Get("count"); got != 5 {
				t.Errorf("Get in the same request = %v", got)
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if got := s.Get("count"); got != 5 {
				t.Errorf("Get(count) = %#v, want int 5", got)
			}
			if got := s.Get("user.name"); got != "Ana" {
				t.Errorf("Get(user.name) = %#v", got)
			}
			want := map[string]any{"name": "Ana", "lang": "pt"}
			if got := s.Get("user"); !reflect.DeepEqual(got, want) {
				t.Errorf("Get(user) = %#v, want %#v", got, want)
			}
			for _, k := range []string{"zero", "empty", "no", "user", "user.name"} {
				if !s.Has(k) {
					t.Errorf("Has(%q) = false", k)
				}
			}
			if s.Has("nothing") || s.Has("missing") || s.Has("user.missing") || s.Has("count.deeper") {
				t.Error("Has is true for nil, missing, or a path through a scalar")
			}
			if got := s.Get("nothing", "def"); got != nil {
				t.Errorf("Get of a present nil = %#v, want nil", got)
			}
			if got := s.Get("missing", "def"); got != "def" {
				t.Errorf("Get default = %#v", got)
			}
			if got := s.Get("missing"); got != nil {
				t.Errorf("Get missing without default = %#v", got)
			}
		})
	})
}

func TestGetAsKeepsTypes(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		since := time.Date(2026, 11, 23, 9, 30, 0, 123456789, time.UTC)
		u := user{Name: "Ana", Age: 33, Since: since}
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("n", 42)
			s.Put("big", uint64(1<<63+5))
			s.Put("f", 1.5)
			s.Put("u", u)
			s.Put("t", since)
			s.Put("list", []string{"a", "b"})
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if n, err := session.GetAs[int](s, "n"); err != nil || n != 42 {
				t.Errorf("GetAs[int] = %v, %v", n, err)
			}
			if n, err := session.GetAs[uint64](s, "big"); err != nil || n != 1<<63+5 {
				t.Errorf("GetAs[uint64] = %v, %v", n, err)
			}
			if f, err := session.GetAs[float64](s, "f"); err != nil || f != 1.5 {
				t.Errorf("GetAs[float64] = %v, %v", f, err)
			}
			if got, err := session.GetAs[user](s, "u"); err != nil || got.Name != u.Name || got.Age != u.Age || !got.Since.Equal(u.Since) {
				t.Errorf("GetAs[user] = %+v, %v", got, err)
			}
			if name, err := session.GetAs[string](s, "u.name"); err != nil || name != "Ana" {
				t.Errorf("GetAs[string](u.name) = %v, %v", name, err)
			}
			if got, err := session.GetAs[time.Time](s, "t"); err != nil || !got.Equal(since) {
				t.Errorf("GetAs[time.Time] = %v, %v", got, err)
			}
			if got, err := session.GetAs[[]string](s, "list"); err != nil || !reflect.DeepEqual(got, []string{"a", "b"}) {
				t.Errorf("GetAs[[]string] = %v, %v", got, err)
			}
			if _, err := session.GetAs[int](s, "missing"); !errors.Is(err, session.ErrMissing) {
				t.Errorf("GetAs missing: %v, want ErrMissing", err)
			}
			if _, err := session.GetAs[int](s, "u"); !errors.Is(err, session.ErrType) {
				t.Errorf("GetAs wrong type: %v, want ErrType", err)
			}
		})
	})
}

func TestDotNotation(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("a", "scalar")
			s.Put("a.b.c", 1) // a scalar on the way is replaced by a map
			s.Put("typed", map[string]string{"x": "1"})
			s.Put("typed.y", "2") // a typed map on the way becomes a map[string]any
			s.Put("u", user{Name: "Ana"})
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if got := s.Get("a.b.c"); got != 1 {
				t.Errorf("a.b.c = %#v", got)
			}
			if got := s.Get("typed"); !reflect.DeepEqual(got, map[string]any{"x": "1", "y": "2"}) {
				t.Errorf("typed = %#v", got)
			}
			if got := s.Get("u.name"); got != "Ana" {
				t.Errorf("u.name = %#v", got)
			}
			s.Forget("a.b.c")
			if got := s.Get("a.b"); !reflect.DeepEqual(got, map[string]any{}) {
				t.Errorf("parent after Forget = %#v, want empty map", got)
			}
			if got := s.Pull("u.name", "def"); got != "Ana" {
				t.Errorf("Pull = %#v", got)
			}
			if got := s.Pull("u.name", "def"); got != "def" {
				t.Errorf("second Pull = %#v, want default", got)
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if !s.Has("a.b") || s.Has("a.b.c") || s.Has("u.name") || !s.Has("u") {
				t.Errorf("after Forget/Pull: %#v", s.All())
			}
		})
	})
}

func TestPush(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if err := s.Push("cart.items", "apple"); err != nil {
				t.Fatal(err)
			}
			if err := s.Push("cart.items", "pear"); err != nil {
				t.Fatal(err)
			}
			s.Put("typed", []string{"x"})
			if err := s.Push("typed", "y"); err != nil {
				t.Fatal(err)
			}
			s.Put("name", "Ana")
			err := s.Push("name", "x")
			if !errors.Is(err, session.ErrNotList) {
				t.Errorf("Push onto a string: %v, want ErrNotList", err)
			}
			if s.Get("name") != "Ana" {
				t.Error("a failed Push changed the value")
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if got := s.Get("cart.items"); !reflect.DeepEqual(got, []any{"apple", "pear"}) {
				t.Errorf("cart.items = %#v", got)
			}
			if got := s.Get("typed"); !reflect.DeepEqual(got, []any{"x", "y"}) {
				t.Errorf("typed = %#v", got)
			}
			if err := s.Push("cart.items", "plum"); err != nil {
				t.Error(err)
			}
		})
		if got := c.get("cart.items"); !reflect.DeepEqual(got, []any{"apple", "pear", "plum"}) {
			t.Errorf("cart.items = %#v", got)
		}
	})
}

func TestAllReturnsACopy(t *testing.T) {
	m, _ := newManager(t, stores[0].open(t), session.Config{})
	c := newClient(t, m)
	c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
		s.Put("user.name", "Ana")
		s.Put("list", []any{1, 2})
		s.Flash("msg", "hi")
		all := s.All()
		want := map[string]any{"user": map[string]any{"name": "Ana"}, "list": []any{1, 2}, "msg": "hi"}
		if !reflect.DeepEqual(all, want) {
			t.Errorf("All = %#v, want %#v (no bookkeeping)", all, want)
		}
		all["user"].(map[string]any)["name"] = "Bob"
		all["list"].([]any)[0] = 99
		all["new"] = true
		if s.Get("user.name") != "Ana" || s.Get("list").([]any)[0] != 1 || s.Has("new") {
			t.Error("changing All's result changed the session")
		}
	})
}

func TestFlush(t *testing.T) {
	eachDriver(t, func(t *testing.T, st session.Store) {
		m, _ := newManager(t, st, session.Config{})
		c := newClient(t, m)
		var token, id string
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Put("a", 1)
			s.Flash("f", 2)
			token, id = s.Token(), s.ID()
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			s.Flush()
			if len(s.All()) != 0 || s.Token() != token {
				t.Errorf("after Flush: %v, token kept %v", s.All(), s.Token() == token)
			}
		})
		c.do(func(_ http.ResponseWriter, _ *http.Request, s *session.Session) {
			if len(s.All()) != 0 || s.Token() != token || s.ID() != id {
				t.Errorf("next request after Flush: data %v, same token %v, same ID %v", s.All(), s.Token() == token, s.ID() == id)
			}
		})
	})
}
