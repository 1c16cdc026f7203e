package main

import (
	"strings"
	"testing"
)

// sessionctl never prints a connection's password, however malformed the
// URL, from a flag or from SESSION_CONNECTION (issue 13, Low 4).
func TestPasswordNeverPrinted(t *testing.T) {
	for _, raw := range []string{
		"mysql://u:SECRET%zzSECRET@127.0.0.1/db",
		"mysql://u:SECRET/SECRET@127.0.0.1/db",
		"postgres://u:SECRET?SECRET@127.0.0.1/db",
		"postgres://u:SECRET#SECRET@127.0.0.1/db",
		"postgres://u:SECRET@SECRET@127.0.0.1:1/db",
		"postgres://u@127.0.0.1/db?password=SECRET&sslmode=bogus",
		"mysql://u:SECRET@127.0.0.1:1/db",
		"host=127.0.0.1 password=SECRET",
		"sqlite://u:SECRET@host/s.db",
	} {
		for _, args := range [][]string{{"gc"}, {"count"}, {"list"}, {"migrate", "--lifetime", "1h"}, {"destroy", "--all", "--yes"}} {
			for _, o := range []opts{
				{env: map[string]string{"SESSION_DRIVER": "database", "SESSION_CONNECTION": raw}},
				{env: map[string]string{"SESSION_DRIVER": "database"}},
			} {
				a := args
				if o.env["SESSION_CONNECTION"] == "" {
					a = append(append([]string{}, args...), "--connection", raw)
				}
				r := ctlWith(t, o, a...)
				if r.code == exitOK || strings.Contains(r.stdout+r.stderr, "SECRET") {
					t.Errorf("sessionctl %s with connection %q: %v", strings.Join(a, " "), raw, r)
				}
			}
		}
	}
}
