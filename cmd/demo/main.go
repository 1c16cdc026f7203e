// Command demo is a small web application that shows every feature of
// sessionkit (github.com/sessionkit/session) on real pages: a visit counter,
// a cart kept with dot-notation keys, flash messages (and Keep), CSRF
// protection, one-time form tokens, log in with session ID regeneration, log
// out, and a page showing the session as the store holds it.
//
// Run it from the module root and open the URL it prints:
//
//	go run ./cmd/demo
//
// Flags:
//
//	-addr      address to listen on (default 127.0.0.1:8080)
//	-driver      session store: file, memory, null, cookie, database, redis,
//	             memcached, mongodb (default file)
//	-connection  URL of the store's server, e.g. sqlite://./sessions.db or
//	             redis://127.0.0.1:6379/0
//	-files     directory of the file store (default ./sessions)
//	-lifetime  idle lifetime of a session (default 30m)
//	-encrypt   encrypt the stored session payload (AES-256-GCM)
//	-secret    secret that signs cookies and derives the encryption key
//	-metrics   serve sessionkit's metrics at /metrics (Prometheus text format)
//
// Every flag defaults to its SESSION_* environment variable
// (session.ConfigFromEnv), so the demo shares its configuration with
// sessionctl and with twelve-factor applications; the other SESSION_*
// variables (cookie name, lottery, ...) apply too.
//
// The secret comes from -secret or, failing that, the SESSION_SECRET
// environment variable. Without either, the demo creates a random secret,
// saves it in .demo-secret (mode 0600) inside the -files directory, and
// reuses it on later runs, so sessions survive a restart. Stop the demo with
// Ctrl-C (SIGINT) or SIGTERM: it finishes the requests in flight and closes
// the session manager.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sessionkit/session"
	_ "github.com/sessionkit/session/drivers" // every driver name for -driver
	"github.com/sessionkit/session/internal/promtext"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(logger); err != nil {
		logger.Error("demo failed", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	env, err := session.ConfigFromEnv()
	if err != nil {
		return err
	}
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	envLifetime := env.Lifetime
	if envLifetime == 0 {
		envLifetime = 30 * time.Minute
	}
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	driver := flag.String("driver", or(env.Driver, "file"), fmt.Sprintf("session store, one of %s", strings.Join(session.Drivers(), ", ")))
	connection := flag.String("connection", env.Connection, "URL of the store's server (database, redis, memcached, mongodb drivers)")
	files := flag.String("files", or(env.Files, "./sessions"), "directory of the file store (also holds .demo-secret)")
	lifetime := flag.Duration("lifetime", envLifetime, "idle lifetime of a session")
	encrypt := flag.Bool("encrypt", env.Encrypt, "encrypt the stored session payload")
	secretFlag := flag.String("secret", "", "secret that signs cookies (default $SESSION_SECRET, else a saved random one)")
	metricsFlag := flag.Bool("metrics", false, "serve sessionkit's metrics at /metrics (Prometheus text format)")
	flag.Parse()

	secret, err := demoSecret(*secretFlag, env.Secret, *files, logger)
	if err != nil {
		return err
	}
	cfg := env // the rest of SESSION_* (cookie, lottery, ...) as ConfigFromEnv read it
	cfg.Secret, cfg.Driver, cfg.Connection, cfg.Files = secret, *driver, *connection, *files
	cfg.Lifetime, cfg.Encrypt, cfg.Logger = *lifetime, *encrypt, logger
	var metrics http.Handler // nil: no /metrics
	if *metricsFlag {
		pm := promtext.New()
		cfg.Hooks, metrics = pm.Hooks(), pm
	}
	m, err := session.New(cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := m.Close(); err != nil {
			logger.Error("closing the session manager", "error", err)
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newServer(m, logger, cfg, metrics),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	url := "http://" + ln.Addr().String() + "/"
	fmt.Printf("sessionkit demo: open %s (Ctrl-C to stop)\n", url)
	logger.Info("serving", "url", url, "driver", cfg.Driver, "lifetime", cfg.Lifetime, "encrypt", cfg.Encrypt)
	if metrics != nil {
		logger.Info("serving metrics", "url", url+"metrics")
	}

	select {
	case err := <-served:
		return err // Serve failed before any signal
	case <-ctx.Done():
	}
	stop() // a second Ctrl-C kills the process at once
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// secretFile is the name of the file, inside the sessions directory, that
// keeps the demo's generated secret between runs.
const secretFile = ".demo-secret"

// demoSecret returns the secret to use: flagValue, else envValue, else the
// one saved in dir/.demo-secret, which it creates (with dir) when missing.
func demoSecret(flagValue, envValue, dir string, logger *slog.Logger) (string, error) {
	switch {
	case flagValue != "":
		return flagValue, nil
	case envValue != "":
		logger.Info("using the secret from SESSION_SECRET")
		return envValue, nil
	}
	path := filepath.Join(dir, secretFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		secret := strings.TrimSpace(string(b))
		if secret == "" {
			return "", fmt.Errorf("%s is empty: delete it or pass -secret", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			logger.Warn("secret file is readable by other users; chmod 600 it", "path", path, "mode", fi.Mode().Perm())
		}
		logger.Info("reusing the secret saved by an earlier run", "path", path)
		return secret, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read secret: %w", err)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create sessions directory: %w", err)
	}
	secret := hex.EncodeToString(randomBytes(32))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another demo process created it meanwhile: use theirs.
		return demoSecret("", "", dir, logger)
	}
	if err != nil {
		return "", fmt.Errorf("save secret: %w", err)
	}
	_, err = f.WriteString(secret + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("save secret: %w", err)
	}
	logger.Info("no -secret or SESSION_SECRET: created a random secret and saved it for the next run", "path", path)
	return secret, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never returns an error (Go 1.24+); it panics if the OS fails
	return b
}
