package mongostore

import (
	"context"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ url, db string }{
		{"mongodb://127.0.0.1:27017/app", "app"},
		{"mongodb://127.0.0.1:27017/app?replicaSet=rs0", "app"},
		{"mongodb://127.0.0.1:27017/", DefaultDatabase},
		{"mongodb://127.0.0.1:27017", DefaultDatabase},
		{"mongodb://127.0.0.1:27017/?authSource=admin", DefaultDatabase},
		{"mongodb://user:p%2Fss@db1:27017,db2:27017/shop?replicaSet=rs0&authSource=admin", "shop"},
		{"mongodb+srv://user:pass@cluster0.example.net/app?retryWrites=true", "app"},
		{"mongodb://%2Ftmp%2Fmongodb-27017.sock/app", "app"},
		{"mongodb://h/my%2Ddb", "my-db"},
	} {
		u, err := parseURL(tc.url)
		if err != nil || u.db != tc.db {
			t.Errorf("parseURL(%q).db = (%q, %v), want %q", tc.url, u.db, err, tc.db)
		}
	}
	for _, bad := range []string{
		"", "127.0.0.1:27017", "redis://127.0.0.1:6379/0", "mongodb:/x",
		"mongodb://h/a.b", "mongodb://h/a%2Fb", "mongodb://h/a%zz", "mongodb://h/a$b",
		"mongodb://h/" + strings.Repeat("d", 64),
	} {
		if u, err := parseURL(bad); err == nil {
			t.Errorf("parseURL(%q).db = %q, want an error", bad, u.db)
		} else if !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("parseURL(%q): error %q lacks the mongostore: prefix", bad, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"mongodb://user:secret@h:1/db":          "mongodb://user:xxxxx@h:1/db",
		"mongodb+srv://user:s%40c@cluster/db?x": "mongodb+srv://user:xxxxx@cluster/db?x",
		"mongodb://h:1/db?u=a@b":                "mongodb://h:xxxxx@b", // too broken to tell
		"mongodb://user@h:1/db":                 "mongodb://user@h:1/db",
		"no scheme":                             "(not shown: not a mongodb:// URL)",
		"postgres://user:secret@h/db":           "(not shown: not a mongodb:// URL)",
		"mongodb://user:se/cr?et@h:1/db":        "mongodb://user:xxxxx@h:1/db",
		"mongodb://user:se@cr@h1:1,h2:2/db?x=1": "mongodb://user:xxxxx@h1:1,h2:2/db?x=1",
		"mongodb://user:secret@h:1/db?tlsCertificateKeyFilePassword=pw&w=1": "mongodb://user:xxxxx@h:1/db?tlsCertificateKeyFilePassword=xxxxx",
		"mongodb://h:1/db?tlsCertificateKeyFilePassword=p@w&w=1":            "mongodb://xxxxx",
		"mongodb://user:secret":        "mongodb://xxxxx",
		"mongodb://h/db?appName=a:b@c": "mongodb://xxxxx@c",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Open refuses a bad URL or collection before dialling anything.
func TestOpenBadArguments(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		url  string
		opts Options
	}{
		{"", Options{}},
		{"postgres://127.0.0.1/app", Options{}},
		{"mongodb://127.0.0.1:1/app", Options{Collection: "system.users"}},
		{"mongodb://127.0.0.1:1/app", Options{Collection: "a$b"}},
		{"mongodb://127.0.0.1:1/app", Options{MaxRetries: -1}},
		{"mongodb://127.0.0.1:1/app?notAnOption=zz&ssl=maybe", Options{}},
	} {
		st, err := Open(ctx, tc.url, tc.opts)
		if err == nil {
			st.Close()
			t.Errorf("Open(%q, %+v) succeeded", tc.url, tc.opts)
		} else if !strings.HasPrefix(err.Error(), "mongostore: ") {
			t.Errorf("Open(%q): error %q lacks the mongostore: prefix", tc.url, err)
		}
	}
}
