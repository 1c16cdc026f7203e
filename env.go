package session

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// ConfigFromEnv returns a Config read from the environment, for twelve-factor
// applications, the demo and sessionctl alike. An unset or empty variable
// leaves its field zero, so New applies the same default as for Config:
//
//	SESSION_SECRET            Secret
//	SESSION_PREVIOUS_SECRETS  PreviousSecrets, comma-separated
//	SESSION_DRIVER            Driver
//	SESSION_LIFETIME          Lifetime, a Go duration such as 30m or 2h
//	SESSION_EXPIRE_ON_CLOSE   ExpireOnClose, a boolean (true, 1, false, 0)
//	SESSION_FILES             Files
//	SESSION_CONNECTION        Connection
//	SESSION_TABLE             Table
//	SESSION_LOTTERY           Lottery, as "2/100"
//	SESSION_COOKIE            Cookie
//	SESSION_PATH              Path
//	SESSION_DOMAIN            Domain
//	SESSION_SECURE            Secure, a boolean
//	SESSION_SAME_SITE         SameSite: lax, strict or none
//	SESSION_PARTITIONED       Partitioned, a boolean
//	SESSION_TOKEN_HEADER      TokenHeader
//	SESSION_SWEEP_INTERVAL    SweepInterval, a Go duration such as 5m
//	SESSION_ABSOLUTE_LIFETIME AbsoluteLifetime, a Go duration such as 12h
//	SESSION_ENCRYPT           Encrypt, a boolean
//	SESSION_STORE_TIMEOUT     StoreTimeout, a Go duration such as 2s
//
// Both secret variables are read alike: surrounding white space (a trailing
// newline from a secrets file) is trimmed from SESSION_SECRET and from each
// SESSION_PREVIOUS_SECRETS entry, so a secret keeps verifying when it is
// rotated from one variable to the other. A SESSION_SECRET that had such
// white space is also kept, as given, as the last previous secret, so that
// cookies signed under it still verify and are re-signed.
//
// A value that does not parse is an error wrapping ErrConfig that names the
// variable.
func ConfigFromEnv() (Config, error) { return ConfigFromFunc(os.Getenv) }

// ConfigFromFunc is ConfigFromEnv reading the variables through getenv
// instead of os.Getenv: for tests, and for programs (such as sessionctl) that
// take their environment as a parameter.
func ConfigFromFunc(getenv func(string) string) (Config, error) {
	cfg := Config{
		Secret:     strings.TrimSpace(getenv("SESSION_SECRET")),
		Driver:     getenv("SESSION_DRIVER"),
		Files:      getenv("SESSION_FILES"),
		Connection: getenv("SESSION_CONNECTION"),
		Table:      getenv("SESSION_TABLE"),
		Cookie:     getenv("SESSION_COOKIE"),
		Path:       getenv("SESSION_PATH"),
		Domain:     getenv("SESSION_DOMAIN"),

		TokenHeader: getenv("SESSION_TOKEN_HEADER"),
	}
	if v := getenv("SESSION_PREVIOUS_SECRETS"); v != "" {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				cfg.PreviousSecrets = append(cfg.PreviousSecrets, s)
			}
		}
	}
	if raw := getenv("SESSION_SECRET"); raw != cfg.Secret && strings.TrimSpace(raw) != "" {
		// Cookies signed under the untrimmed form (read as given before
		// secrets were trimmed alike) still verify, and are re-signed.
		cfg.PreviousSecrets = append(cfg.PreviousSecrets, raw)
	}
	bad := func(name, v, want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", ErrConfig, name, v, want)
	}
	for name, field := range map[string]*time.Duration{
		"SESSION_LIFETIME":      &cfg.Lifetime,
		"SESSION_STORE_TIMEOUT": &cfg.StoreTimeout,

		"SESSION_ABSOLUTE_LIFETIME": &cfg.AbsoluteLifetime,
		"SESSION_SWEEP_INTERVAL":    &cfg.SweepInterval,
	} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return cfg, bad(name, v, "a Go duration such as 30m or 2s")
			}
			*field = d
		}
	}
	for name, field := range map[string]*bool{
		"SESSION_EXPIRE_ON_CLOSE": &cfg.ExpireOnClose,
		"SESSION_SECURE":          &cfg.Secure,
		"SESSION_ENCRYPT":         &cfg.Encrypt,
		"SESSION_PARTITIONED":     &cfg.Partitioned,
	} {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, bad(name, v, "true or false")
			}
			*field = b
		}
	}
	if v := getenv("SESSION_LOTTERY"); v != "" {
		n, d, ok := strings.Cut(v, "/")
		nn, err1 := strconv.Atoi(strings.TrimSpace(n))
		dd, err2 := strconv.Atoi(strings.TrimSpace(d))
		if !ok || err1 != nil || err2 != nil {
			return cfg, bad("SESSION_LOTTERY", v, "n/d, such as 2/100")
		}
		cfg.Lottery = [2]int{nn, dd}
	}
	switch v := strings.ToLower(getenv("SESSION_SAME_SITE")); v {
	case "":
	case "lax":
		cfg.SameSite = http.SameSiteLaxMode
	case "strict":
		cfg.SameSite = http.SameSiteStrictMode
	case "none":
		cfg.SameSite = http.SameSiteNoneMode
	default:
		return cfg, bad("SESSION_SAME_SITE", v, "lax, strict or none")
	}
	return cfg, nil
}
