// Package secrettest checks that a text (an error message, a log, a
// command's output) holds no part of a password, for the regression tests of
// connection-URL redaction.
package secrettest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// Passwords are passwords with every character that breaks a naive split of
// a connection URL, raw as a user might paste them. They are made of letters
// that messages seldom hold, so that any fragment of three characters (see
// Forms) in a message is a leak, not a coincidence.
var Passwords = []string{
	"Kw3/jZQx7",    // a slash: ends the host list for a naive parser
	"Kw3?jZQx7",    // starts the query
	"Kw3#jZQx7",    // starts a fragment
	"Kw3@jZQx7",    // a second '@'
	"Kw3:jZQx7",    // a second ':'
	"Kw3%zzjZQx7",  // a bad percent-escape
	"Kw3%2FjZQx7",  // a good one (decoded: Kw3/jZQx7)
	"Kw3 jZQx7",    // a space
	"Kw3&x=1jZQx7", // looks like a query parameter
	"Kw3/j@h?ZQx7", // several at once
	"Kw3%jZQx7",    // a lone '%'
	"Kw3jZQx7/",    // a trailing slash
	"Kw3jZ,Qx7",    // a comma: separates hosts
	"Kw3jZ;Qx7",    // a semicolon: separates query parameters too
	"Kw3jZ\\Qx7",   // a backslash
}

// Forms returns what of password must not appear in any message: the
// password as given and percent-decoded, and every fragment of three
// characters of either with at least two letters or digits (a tail cut at a
// separator, a bad escape quoted alone).
func Forms(password string) []string {
	forms := []string{password}
	if d, err := url.PathUnescape(password); err == nil && d != password {
		forms = append(forms, d)
	}
	for _, p := range forms[:len(forms):len(forms)] {
		for i := 0; i+3 <= len(p); i++ {
			frag, alnum := p[i:i+3], 0
			for _, c := range frag {
				if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
					alnum++
				}
			}
			if alnum >= 2 {
				forms = append(forms, frag)
			}
		}
	}
	return forms
}

// Find returns the first of password's Forms that text holds, or "".
func Find(text, password string) string {
	for _, f := range Forms(password) {
		if strings.Contains(text, f) {
			return f
		}
	}
	return ""
}

// FindErr returns the first of password's Forms that the text of err or of
// an error it wraps holds, and that text; "" when there is none.
func FindErr(err error, password string) (form, text string) {
	for _, e := range chain(err) {
		if f := Find(e.Error(), password); f != "" {
			return f, e.Error()
		}
	}
	return "", ""
}

// Check fails t when text holds password in any of its Forms.
func Check(t testing.TB, what, text, password string) {
	t.Helper()
	if f := Find(text, password); f != "" {
		t.Errorf("%s contains the password (%q):\n%s", what, f, text)
	}
}

// CheckErr fails t when the text of err, or of any error it wraps, holds
// password in any of its Forms.
func CheckErr(t testing.TB, what string, err error, password string) {
	t.Helper()
	if f, text := FindErr(err, password); f != "" {
		t.Errorf("%s contains the password (%q):\n%s", what, f, text)
	}
}

// chain returns err and every error it wraps, depth first.
func chain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		out = append(out, chain(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			out = append(out, chain(e)...)
		}
	}
	return out
}

// NoPanic runs f and fails t when it panics, showing the panic only with the
// password masked.
func NoPanic(t testing.TB, what, password string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprint(p)
			for _, f := range Forms(password) {
				msg = strings.ReplaceAll(msg, f, "<password>")
			}
			t.Errorf("%s panicked: %s", what, msg)
		}
	}()
	f()
}
