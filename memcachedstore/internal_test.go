package memcachedstore

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 500_000_000) // 2027, half a second past
	for _, c := range []struct {
		name   string
		expiry time.Time
		want   int32
	}{
		{"1ns ahead", now.Add(1), 2},
		{"1s ahead", now.Add(time.Second), 2},
		{"1.2s ahead", now.Add(1200 * time.Millisecond), 3},
		{"5min ahead", now.Add(5 * time.Minute), 301},
		{"just under 30 days", now.Add(30*24*time.Hour - time.Second), thirtyDays},
		{"30 days", now.Add(30 * 24 * time.Hour), int32(now.Add(30*24*time.Hour).Unix() + 2)},
		{"a year", now.Add(365 * 24 * time.Hour), int32(now.Add(365*24*time.Hour).Unix() + 2)},
		{"after 2038", time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), 0},
	} {
		got := expiration(c.expiry, now)
		if got != c.want {
			t.Errorf("%s: expiration = %d, want %d", c.name, got, c.want)
		}
		// Never before the record's own expiry.
		switch {
		case got == 0:
		case got <= thirtyDays:
			if now.Add(time.Duration(got) * time.Second).Before(c.expiry) {
				t.Errorf("%s: memcached would drop the item (after %ds) before its expiry", c.name, got)
			}
		default:
			if time.Unix(int64(got), 0).Before(c.expiry) {
				t.Errorf("%s: memcached would drop the item (at %d) before its expiry", c.name, got)
			}
		}
	}
}

func TestEncodeDecode(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	for _, data := range [][]byte{{}, []byte("x"), []byte("binary \x00\xff payload")} {
		v := encode(data, exp)
		got, e, ok := decode(v)
		if !ok || !bytes.Equal(got, data) || !e.Equal(time.Unix(0, exp.UnixNano())) {
			t.Errorf("decode(encode(%q)) = %q, %v, %v", data, got, e, ok)
		}
		if len(v) != headerSize+len(data) {
			t.Errorf("value of %d bytes for %d bytes of data", len(v), len(data))
		}
		if got != nil && cap(got) != len(got) {
			t.Error("decoded data has spare capacity: an append by fn could write into the item")
		}
	}
	for _, bad := range [][]byte{nil, {}, {formatV1, 0, 0}, append([]byte{2}, make([]byte, 8)...)} {
		if _, _, ok := decode(bad); ok {
			t.Errorf("decode(%q) accepted a value this store did not write", bad)
		}
	}
	if _, e, ok := decode(tombstone); !ok || e.After(time.Unix(1, 0)) {
		t.Error("the tombstone does not decode as long expired")
	}
}

func TestKey(t *testing.T) {
	s := &Store{prefix: "p:"}
	for id, want := range map[string]bool{
		"abcXYZ019-_":            true,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false, // longer than any store takes
		"":                       false,
		"a b":                    false,
		"a\nb":                   false,
		"a\x00":                  false,
		"é":                      false,
		"../x":                   false,
	} {
		if _, ok := s.key(id); ok != want {
			t.Errorf("key(%q) ok = %v, want %v", id, ok, want)
		}
	}
	long := &Store{prefix: strings.Repeat("p", 200)}
	if _, ok := long.key(strings.Repeat("a", 50)); !ok {
		t.Error("a 50-character ID does not fit with a 200-byte prefix")
	}
	if _, ok := long.key(strings.Repeat("a", 51)); ok {
		t.Error("a 51-character ID fits with a 200-byte prefix: 251 bytes")
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"memcached://h1:1,h2?prefix=p:&timeout=1s": "memcached://h1:1,h2?prefix=p:&timeout=1s",
		"memcached://[::1]:11211,::1/":             "memcached://[::1]:11211,::1/",
		"memcached://h?password=secret&timeout=1s": "memcached://h?password=xxxxx&timeout=1s",
		"memcached://u:secret@h":                   "memcached://xxxxx",
		"memcached://h?prefix=a@b":                 "memcached://xxxxx",
		"memcached://u:secret":                     "memcached://xxxxx",
		"memcached://u:se/cret":                    "memcached://xxxxx",
		"redis://u:secret@h":                       "(not shown: not a memcached:// URL)",
		"u:secret@h":                               "(not shown: not a memcached:// URL)",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseURL(t *testing.T) {
	servers, q, err := parseURL("memcached://10.0.0.1:11211,10.0.0.2,[::1]:11212?prefix=app:&timeout=1s")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.0.0.1:11211", "10.0.0.2:11211", "[::1]:11212"}; !slices.Equal(servers, want) {
		t.Errorf("servers %q, want %q", servers, want)
	}
	if q.Get("prefix") != "app:" || q.Get("timeout") != "1s" {
		t.Errorf("query %v", q)
	}
	for _, bad := range []string{"", "memcache://h:1", "h:11211", "memcached://", "memcached://u:p@h:1", "memcached://h:1/db",
		"memcached://u:p", "memcached://h:0", "memcached://h:65536", "memcached://a:b:c", "memcached://h?a=%zz", "memcached://h?prefix=a@b"} {
		if _, _, err := parseURL(bad); err == nil || !strings.HasPrefix(err.Error(), "memcachedstore: ") {
			t.Errorf("parseURL(%q): error %v", bad, err)
		}
	}
	for _, bad := range []string{"memcached://h?timeout=x", "memcached://h?max_idle_conns=0", "memcached://h?bogus=1", "memcached://h?prefix=a%20b"} {
		if _, err := Open(t.Context(), bad, Options{}); err == nil || !strings.HasPrefix(err.Error(), "memcachedstore: ") {
			t.Errorf("Open(%q): error %v", bad, err)
		}
	}
	s, err := Open(t.Context(), "memcached://127.0.0.1?timeout=250ms&max_idle_conns=7&prefix=x:", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.client.Timeout != 250*time.Millisecond || s.client.MaxIdleConns != 7 || s.prefix != "x:" || !s.own {
		t.Errorf("Open: timeout %v, idle %d, prefix %q, own %v", s.client.Timeout, s.client.MaxIdleConns, s.prefix, s.own)
	}
	s, err = Open(t.Context(), "memcached://127.0.0.1?prefix=x:", Options{Prefix: "opt:"})
	if err != nil || s.prefix != "opt:" || s.client.MaxIdleConns != DefaultMaxIdleConns {
		t.Errorf("Options.Prefix should win over the URL's: %q, %v", s.prefix, err)
	}
}

// Open needs no server; ctx bounds the host names' resolution, and an ended
// context stops it before anything.
func TestOpenContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Open(ctx, "memcached://127.0.0.1:1", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context = %v, want context.Canceled", err)
	}
	if s, err := Open(t.Context(), "memcached://localhost:1", Options{}); err != nil {
		t.Errorf("Open of localhost (nothing listening): %v", err)
	} else {
		s.Close()
	}
	addrs, err := resolve(t.Context(), []string{"localhost:1", "[::1]:2", "10.0.0.1:11211"})
	if want := []string{"127.0.0.1:1", "[::1]:2", "10.0.0.1:11211"}; err != nil || !slices.Equal(addrs, want) {
		t.Errorf("resolve = (%q, %v), want %q", addrs, err, want)
	}
	if _, err := Open(t.Context(), "memcached://no-such-host.invalid", Options{}); err == nil || !strings.HasPrefix(err.Error(), "memcachedstore: connection URL memcached://no-such-host.invalid: ") {
		t.Errorf("Open of a host that does not resolve: %v", err)
	}
}
