package bench

import (
	"io"
	"net/http"
	"strconv"
	"testing"
)

// TestCorrect checks that every contender's handlers do the work the
// benchmarks say they measure: the read returns "Ana" from the seeded
// session, the write persists (a later request sees it), and a request that
// only reads, or does not touch the session, sets no cookie; without a
// cookie, the read finds nothing and the write starts a session.
func TestCorrect(t *testing.T) {
	t.Run("floor", func(t *testing.T) {
		resp := do(bare(), nil)
		if got := body(t, resp); resp.StatusCode != http.StatusOK || got != "ok" {
			t.Fatalf("bare handler: %d %q", resp.StatusCode, got)
		}
	})
	for _, p := range pairings {
		t.Run(p.store, func(t *testing.T) {
			for _, c := range p.setup(t) {
				t.Run(c.lib, func(t *testing.T) { checkContender(t, c) })
			}
		})
	}
}

func checkContender(t *testing.T, c contender) {
	// With a cookie.
	ck := seed(t, c)
	if got := probe(t, c, ck); got != "name=Ana visits=0" {
		t.Errorf("after seeding: probe = %q, want name=Ana visits=0", got)
	}
	resp := do(c.handler(actRead), ck)
	if got := body(t, resp); got != "Ana" {
		t.Errorf("read: body %q, want Ana", got)
	}
	noCookie(t, "read", resp)
	resp = do(c.handler(actUntouched), ck)
	if got := body(t, resp); got != "ok" {
		t.Errorf("untouched: body %q, want ok", got)
	}
	noCookie(t, "untouched", resp)

	w := c.handler(actWrite)
	for want := 1; want <= 2; want++ {
		resp = do(w, ck)
		if got := body(t, resp); got != "ok" {
			t.Fatalf("write: body %q, want ok", got)
		}
		if next := responseCookie(resp); next != nil {
			ck = next // a cookie store sends the session back
		}
		wantProbe := "name=Ana visits=" + strconv.Itoa(want)
		if got := probe(t, c, ck); got != wantProbe {
			t.Errorf("after write %d: probe = %q, want %q", want, got, wantProbe)
		}
	}

	// Without a cookie.
	resp = do(c.handler(actRead), nil)
	if got := body(t, resp); got != "" {
		t.Errorf("read without a cookie: body %q, want empty", got)
	}
	noCookie(t, "read without a cookie", resp)
	resp = do(c.handler(actUntouched), nil)
	if got := body(t, resp); got != "ok" {
		t.Errorf("untouched without a cookie: body %q, want ok", got)
	}
	noCookie(t, "untouched without a cookie", resp)
	resp = do(c.handler(actWrite), nil)
	if got := body(t, resp); got != "ok" {
		t.Fatalf("write without a cookie: body %q, want ok", got)
	}
	fresh := responseCookie(resp)
	if fresh == nil || fresh.Value == "" {
		t.Fatalf("write without a cookie set no session cookie")
	}
	if got := probe(t, c, fresh); got != "name= visits=1" {
		t.Errorf("after a write without a cookie: probe = %q, want name= visits=1", got)
	}
}

// probe returns what the probe handler sees in the session ck names.
func probe(t *testing.T, c contender, ck *http.Cookie) string {
	t.Helper()
	return body(t, do(c.handler(actProbe), ck))
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	return string(b)
}

func noCookie(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Errorf("%s: response sets cookies %q, want none", what, sc)
	}
}
