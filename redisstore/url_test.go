package redisstore

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		c, err := parseURL("redis://:s3cret@cache.internal:6380/2?prefix=app:sess:&dial_timeout=2s")
		if err != nil {
			t.Fatal(err)
		}
		o := c.single
		if o == nil || o.Addr != "cache.internal:6380" || o.DB != 2 || o.Password != "s3cret" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
			t.Errorf("options %+v", o)
		}
		if c.prefix != "app:sess:" || !o.ContextTimeoutEnabled {
			t.Errorf("prefix %q, context timeouts %v", c.prefix, o.ContextTimeoutEnabled)
		}
		if o.DialerRetries != 1 {
			t.Errorf("default dialer retries %d, want 1", o.DialerRetries)
		}
		c, err = parseURL("redis://127.0.0.1:6379/0?context_timeout_enabled=false&dialer_retries=4")
		if err != nil || c.single.ContextTimeoutEnabled || c.single.DialerRetries != 4 || c.single.DialTimeout != 2*time.Second {
			t.Errorf("URL options not honoured: %+v, %v", c.single, err)
		}
	})
	t.Run("unix", func(t *testing.T) {
		c, err := parseURL("unix:///run/redis/redis.sock?db=2&prefix=u:")
		if err != nil {
			t.Fatal(err)
		}
		if c.single.Network != "unix" || c.single.Addr != "/run/redis/redis.sock" || c.single.DB != 2 || c.prefix != "u:" {
			t.Errorf("options %+v, prefix %q", c.single, c.prefix)
		}
	})
	t.Run("tls", func(t *testing.T) {
		c, err := parseURL("rediss://user:pw@h:6379")
		if err != nil {
			t.Fatal(err)
		}
		if c.single.TLSConfig == nil || c.single.Username != "user" || c.single.Password != "pw" {
			t.Errorf("options %+v", c.single)
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		c, err := parseURL("redis+sentinel://:m%40ster@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/3?sentinel_password=sp&read_timeout=1s&prefix=p:")
		if err != nil {
			t.Fatal(err)
		}
		o := c.failover
		if o == nil {
			t.Fatalf("not a failover config: %+v", c)
		}
		if o.MasterName != "mymaster" || o.DB != 3 || o.Password != "m@ster" || o.SentinelPassword != "sp" || o.ReadTimeout != time.Second {
			t.Errorf("options %+v", o)
		}
		if want := []string{"10.0.0.1:26379", "10.0.0.2:26379", "[::1]:26380"}; !slices.Equal(o.SentinelAddrs, want) {
			t.Errorf("sentinels %q, want %q", o.SentinelAddrs, want)
		}
		if c.prefix != "p:" || !o.ContextTimeoutEnabled || o.TLSConfig != nil {
			t.Errorf("prefix %q, context timeouts %v, TLS %v", c.prefix, o.ContextTimeoutEnabled, o.TLSConfig)
		}
		c, err = parseURL("rediss+sentinel://s1/m")
		if err != nil || c.failover.TLSConfig == nil || c.failover.DB != 0 || c.failover.MasterName != "m" {
			t.Errorf("rediss+sentinel: %+v, %v", c.failover, err)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		c, err := parseURL("redis+cluster://u:p@n1:7000,n2:7001,n3?max_redirects=5")
		if err != nil {
			t.Fatal(err)
		}
		o := c.cluster
		if o == nil {
			t.Fatalf("not a cluster config: %+v", c)
		}
		if want := []string{"n1:7000", "n2:7001", "n3:6379"}; !slices.Equal(o.Addrs, want) {
			t.Errorf("addrs %q, want %q", o.Addrs, want)
		}
		if o.Username != "u" || o.Password != "p" || o.MaxRedirects != 5 || !o.ContextTimeoutEnabled {
			t.Errorf("options %+v", o)
		}
	})
	for _, bad := range []string{
		"",
		"127.0.0.1:6379",
		"http://127.0.0.1:6379",
		"redis://h:6379/0?no_such_option=1",
		"redis+sentinel://h:26379",           // no master name
		"redis+sentinel://h:26379/m/0/extra", // too many path segments
		"redis+sentinel://h:26379/m/x",       // bad db
		"redis+cluster://h:7000/1",           // no databases in a Cluster
		"redis+cluster://",                   // no host
		"redis://:pw@h:6379/0#frag",
	} {
		if _, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%q): no error", bad)
		} else if !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("parseURL(%q): error %q lacks the package prefix", bad, err)
		}
	}
}

// Errors name the URL by its scheme and hosts, the user information as
// xxxxx; they quote the query (and go-redis's message about it) only when
// the URL holds no credentials; a URL with an '@' after its host list shows
// only its scheme.
func TestURLErrors(t *testing.T) {
	for in, want := range map[string]string{
		"redis://h/0?bogus=1":                                   "redisstore: connection URL redis://h:6379: refused: redis: unexpected option: bogus",
		"redis://app:s3cret@h/0?dial_timeout=1s&bogus=1":        "redisstore: connection URL redis://xxxxx@h:6379: parameter 2 of 2 (in the order written, credentials left out) is refused (details not shown",
		"redis://s3cret@h/0?bogus=1":                            "redisstore: connection URL redis://xxxxx@h:6379: parameter 1 of 1",
		"redis+cluster://:s3cret@n1,n2:7001/1":                  "redisstore: connection URL redis+cluster://xxxxx@n1:6379,n2:7001: a Cluster has no databases: drop the path",
		"redis+sentinel://h/m?sentinel_password=s3cret&bogus=1": "redisstore: connection URL redis+sentinel://h:26379: parameter 1 of 1",
		"redis+sentinel://h/m/x":                                "redisstore: connection URL redis+sentinel://h:26379: want the master name as the path, then an optional database number",
		"redis://:s3/cret@h/0?bogus=1":                          "redisstore: connection URL redis://...: address 1 is not host[:port]",
		"redis://h/0?dial_timeout=x&prefix=a@b:":                "redisstore: connection URL redis://...: parameter 1 of 1",
		"redis://:s3cret@h/0?password=s3cret":                   "redisstore: connection URL redis://xxxxx@h:6379: the password parameter is not allowed",
		"redis://:s3cret@h/0?context_timeout_enabled=s3cret":    "redisstore: connection URL redis://xxxxx@h:6379: context_timeout_enabled is not a boolean",
		"unix://:s3cret@/run/redis.sock?db=x":                   "redisstore: connection URL unix://xxxxx@/...: parameter 1 of 1",
		"redis://:s3cret@h:6379/0?min_idle_conns=99999999999":   "redisstore: connection URL redis://xxxxx@h:6379: the client refused its options (details not shown",
		"redis://h:6379/0?min_idle_conns=99999999999":           "redisstore: connection URL redis://h:6379: the client refused its options: redis: failed to create connection pool",
		"redis://h:6379/0?pool_size=10001":                      "redisstore: connection URL redis://h:6379: pool_size above 10000 (a Redis server's default maxclients) is refused",
		"redis+cluster://h?pipeline_pool_size=100000000":        "redisstore: connection URL redis+cluster://h:6379: pipeline_pool_size above 10000",
		"http://h": `redisstore: connection URL: unknown scheme "http"`,
	} {
		err := func() error {
			c, err := parseURL(in)
			if err != nil {
				return err
			}
			client, err := c.newClient()
			if err == nil {
				client.Close()
			}
			return err
		}()
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", in, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3") {
			t.Errorf("%q: the error shows the password: %v", in, err)
		}
	}
}

// An unencoded '@' or ':' in a password is read as meant: the user
// information runs to the last '@' before the host list.
func TestURLPasswordCharacters(t *testing.T) {
	c, err := parseURL("redis://app:p@s:s@h:6380/1")
	if err != nil || c.single.Username != "app" || c.single.Password != "p@s:s" || c.single.Addr != "h:6380" {
		t.Errorf("got %+v, %v", c, err)
	}
	c, err = parseURL("redis+sentinel://h/m?username=u&password=p%2Fw&sentinel_username=su&sentinel_password=s%40p")
	if err != nil {
		t.Fatal(err)
	}
	if o := c.failover; o.Username != "u" || o.Password != "p/w" || o.SentinelUsername != "su" || o.SentinelPassword != "s@p" {
		t.Errorf("sentinel credentials %+v", o)
	}
	c, err = parseURL("redis+sentinel://mu:mp@h/m?password=other")
	if err != nil || c.failover.Username != "mu" || c.failover.Password != "mp" {
		t.Errorf("the user information does not win over the password parameter: %+v, %v", c, err)
	}
}

func TestTTLOf(t *testing.T) {
	if d := ttlOf(time.Now().Add(-time.Second)); d != 0 {
		t.Errorf("past: %v", d)
	}
	if d := ttlOf(time.Time{}); d != 0 {
		t.Errorf("zero time: %v", d)
	}
	if d := ttlOf(time.Now().Add(100 * time.Microsecond)); d != time.Millisecond {
		t.Errorf("100µs ahead: %v, want 1ms (rounded up)", d)
	}
	if d := ttlOf(time.Now().Add(time.Hour)); d < 59*time.Minute || d > time.Hour || d%time.Millisecond != 0 {
		t.Errorf("1h ahead: %v", d)
	}
}

// FuzzURLPasswordNeverShown: whatever surrounds it, a password in the user
// information of a connection URL appears in no error of parseURL or of
// building the client.
func FuzzURLPasswordNeverShown(f *testing.F) {
	for _, s := range [][4]string{
		{"redis", "", "/", "h:6379/0"},
		{"redis", "app", "?x=", "h/0?bogus=1"},
		{"rediss", "", "#", "h"},
		{"redis+sentinel", "", "%zz", "h1,h2/m/0?sentinel_password=x"},
		{"redis+cluster", "u", "@/", "n1:7000,n2/1"},
		{"unix", "", "&", "/run/redis.sock?db=x"},
		{"redis", "a/b", "", "h/0?min_idle_conns=99999999999"},
		{"redis", "", "", "h/0?pool_size=99999999"},
		{"http", "", ":", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, scheme, user, pw, rest string) {
		const head, tail = "Ab3Xq", "Zr7Kw"
		for _, s := range []string{scheme, user, rest} {
			if strings.Contains(s, head) || strings.Contains(s, tail) {
				return // the password's halves must be the password's alone
			}
		}
		raw := scheme + "://" + user + ":" + head + pw + tail + "@" + rest
		c, err := parseURL(raw)
		if err == nil {
			var client interface{ Close() error }
			if client, err = c.newClient(); err == nil {
				client.Close()
			}
		}
		if err != nil && (strings.Contains(err.Error(), head) || strings.Contains(err.Error(), tail)) {
			t.Errorf("%q: the error shows the password: %v", raw, err)
		}
	})
}
