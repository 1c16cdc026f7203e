package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func TestConfigFromEnv(t *testing.T) {
	for k, v := range map[string]string{
		"SESSION_SECRET":           "s - a test secret, not for production",
		"SESSION_PREVIOUS_SECRETS": "old1 - a test secret that is not for production, old2 - a test secret that is not for production",
		"SESSION_DRIVER":           "memory",
		"SESSION_LIFETIME":         "30m",
		"SESSION_EXPIRE_ON_CLOSE":  "true",
		"SESSION_FILES":            "/tmp/x",
		"SESSION_CONNECTION":       "redis://127.0.0.1:6379/0",
		"SESSION_TABLE":            "t",
		"SESSION_LOTTERY":          "1/50",
		"SESSION_COOKIE":           "sid",
		"SESSION_PATH":             "/app",
		"SESSION_DOMAIN":           "example.com",
		"SESSION_SECURE":           "1",
		"SESSION_SAME_SITE":        "Strict",
		"SESSION_ENCRYPT":          "true",
		"SESSION_STORE_TIMEOUT":    "2s",
	} {
		t.Setenv(k, v)
	}
	got, err := session.ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := session.Config{
		Secret: "s - a test secret, not for production", PreviousSecrets: []string{"old1 - a test secret that is not for production", "old2 - a test secret that is not for production"}, Driver: "memory", Lifetime: 30 * time.Minute,
		ExpireOnClose: true, Files: "/tmp/x", Connection: "redis://127.0.0.1:6379/0", Table: "t",
		Lottery: [2]int{1, 50}, Cookie: "sid", Path: "/app", Domain: "example.com", Secure: true,
		SameSite: http.SameSiteStrictMode, Encrypt: true, StoreTimeout: 2 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigFromEnv =\n%+v\nwant\n%+v", got, want)
	}
	m, err := session.New(got)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
}

func TestConfigFromEnvDefaultsAndErrors(t *testing.T) {
	t.Setenv("SESSION_SECRET", "s - a test secret, not for production")
	got, err := session.ConfigFromEnv()
	if err != nil || !reflect.DeepEqual(got, session.Config{Secret: "s - a test secret, not for production"}) {
		t.Errorf("only a secret: %+v, %v", got, err)
	}
	for k, v := range map[string]string{
		"SESSION_LIFETIME":      "120", // minutes? no: a duration needs its unit
		"SESSION_SECURE":        "yes please",
		"SESSION_LOTTERY":       "2",
		"SESSION_SAME_SITE":     "sometimes",
		"SESSION_STORE_TIMEOUT": "5",
	} {
		t.Run(k, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := session.ConfigFromEnv(); !errors.Is(err, session.ErrConfig) {
				t.Errorf("%s=%q: %v, want ErrConfig", k, v, err)
			}
		})
	}
}

func TestConfigFromFunc(t *testing.T) {
	env := map[string]string{"SESSION_SECRET": "s - a test secret, not for production", "SESSION_DRIVER": "memory"}
	got, err := session.ConfigFromFunc(func(k string) string { return env[k] })
	if err != nil || !reflect.DeepEqual(got, session.Config{Secret: "s - a test secret, not for production", Driver: "memory"}) {
		t.Errorf("ConfigFromFunc = %+v, %v", got, err)
	}
}

// TestSecretsReadAlike: a secret with a trailing newline (as read from a
// secrets file) verifies the same cookies whether it is SESSION_SECRET or,
// rotated, an entry of SESSION_PREVIOUS_SECRETS.
func TestSecretsReadAlike(t *testing.T) {
	const secret = "a secret from a file and long enough to be accepted\n"
	newEnv := func(env map[string]string) session.Config {
		t.Helper()
		env["SESSION_DRIVER"] = "memory"
		cfg, err := session.ConfigFromFunc(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	before := newEnv(map[string]string{"SESSION_SECRET": secret})
	if before.Secret != strings.TrimSpace(secret) {
		t.Errorf("Secret = %q, want it trimmed", before.Secret)
	}
	after := newEnv(map[string]string{
		"SESSION_SECRET":           "the next secret and also long enough to be accepted",
		"SESSION_PREVIOUS_SECRETS": secret,
	})
	if !slices.Contains(after.PreviousSecrets, before.Secret) {
		t.Errorf("PreviousSecrets = %q: the rotated secret is not read as SESSION_SECRET was", after.PreviousSecrets)
	}
	// A cookie issued under the old configuration loads under the new one.
	m1, err := session.New(before)
	if err != nil {
		t.Fatal(err)
	}
	defer m1.Close()
	after.Store = m1.Store()
	m2, err := session.New(after)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	put := m1.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { session.FromRequest(r).Put("k", "v") }))
	rec := httptest.NewRecorder()
	put.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	cookie := rec.Result().Cookies()[0]
	var got any
	get := m2.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = session.FromRequest(r).Get("k") }))
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(cookie)
	get.ServeHTTP(httptest.NewRecorder(), req)
	if got != "v" {
		t.Errorf("after rotating a secret read with a trailing newline, the session is lost: Get = %v", got)
	}
}

// TestUntrimmedSecretStillVerifies: cookies signed under a SESSION_SECRET that
// was used as given, trailing newline included, still load once secrets are
// trimmed.
func TestUntrimmedSecretStillVerifies(t *testing.T) {
	const secret = "a secret from a file and long enough to be accepted\n"
	cfg, err := session.ConfigFromFunc(func(k string) string {
		return map[string]string{"SESSION_SECRET": secret, "SESSION_DRIVER": "memory"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.PreviousSecrets, secret) {
		t.Errorf("PreviousSecrets = %q, want the untrimmed secret kept", cfg.PreviousSecrets)
	}
}
