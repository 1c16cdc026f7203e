package session_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/sessionkit/session"
)

func TestConfigFromEnv(t *testing.T) {
	for k, v := range map[string]string{
		"SESSION_SECRET":           "s",
		"SESSION_PREVIOUS_SECRETS": "old1, old2",
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
		Secret: "s", PreviousSecrets: []string{"old1", "old2"}, Driver: "memory", Lifetime: 30 * time.Minute,
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
	t.Setenv("SESSION_SECRET", "s")
	got, err := session.ConfigFromEnv()
	if err != nil || !reflect.DeepEqual(got, session.Config{Secret: "s"}) {
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
	env := map[string]string{"SESSION_SECRET": "s", "SESSION_DRIVER": "memory"}
	got, err := session.ConfigFromFunc(func(k string) string { return env[k] })
	if err != nil || !reflect.DeepEqual(got, session.Config{Secret: "s", Driver: "memory"}) {
		t.Errorf("ConfigFromFunc = %+v, %v", got, err)
	}
}
