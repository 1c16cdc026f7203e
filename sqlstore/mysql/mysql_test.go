package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sessionkit/session/sqlstore"
)

func connURL(t *testing.T, raw string) *sqlstore.ConnURL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	return &sqlstore.ConnURL{Raw: raw, Scheme: scheme, Rest: rest, URL: u}
}

func TestConfig(t *testing.T) {
	cfg, err := config(connURL(t, "mysql://app:p%40ss%2Fw0rd@db.example:3307/sessions?tls=skip-verify&charset=utf8mb4"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "app" || cfg.Passwd != "p@ss/w0rd" || cfg.Net != "tcp" || cfg.Addr != "db.example:3307" ||
		cfg.DBName != "sessions" || cfg.TLSConfig != "skip-verify" || !cfg.InterpolateParams || cfg.Timeout != sqlstore.ConnectTimeout {
		t.Errorf("config = %+v", cfg)
	}
	cfg, err = config(connURL(t, "mysql://root@[::1]/app?interpolateParams=false&timeout=3s"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "[::1]:3306" || cfg.InterpolateParams || cfg.Passwd != "" || cfg.Timeout.String() != "3s" {
		t.Errorf("config = %+v, want port 3306 and the URL's interpolateParams and timeout", cfg)
	}
	for _, bad := range []string{"mysql://root@host:3306", "mysql://root@host:3306/", "mysql://root@host/a/b", "mysql://h/db?timeout=forever"} {
		if _, err := config(connURL(t, bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want sqlstore.ErrorKind
	}{
		{&gomysql.MySQLError{Number: 1062}, sqlstore.KindConflict},
		{&gomysql.MySQLError{Number: 1213}, sqlstore.KindRolledBack},
		{&gomysql.MySQLError{Number: 1040}, sqlstore.KindUnavailable},
		{&gomysql.MySQLError{Number: 1053}, sqlstore.KindUnavailable},
		{&gomysql.MySQLError{Number: 1203}, sqlstore.KindUnavailable},
		{&gomysql.MySQLError{Number: 1045}, sqlstore.KindServer}, // access denied
		{gomysql.ErrInvalidConn, sqlstore.KindBrokenConn},
		{io.EOF, sqlstore.KindUnknown},
		{errors.New("other"), sqlstore.KindUnknown},
	} {
		if got := (classifier{}).Classify(fmt.Errorf("wrapped: %w", tc.err)); got != tc.want {
			t.Errorf("Classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// The connector gives up on a server that accepts and never answers after
// the URL's timeout, handshake included, rather than when the caller's
// context ends.
func TestConnectTimeoutCoversHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accepted, never answered
		}
	}()
	c, err := connect(connURL(t, "mysql://root@"+ln.Addr().String()+"/app?timeout=200ms"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	conn, err := c.Connect(ctx)
	if err == nil {
		conn.Close()
		t.Fatal("Connect to a server that never answers succeeded")
	}
	if ctx.Err() != nil {
		t.Errorf("Connect returned when the caller's context ended (%v), not after the URL's timeout: %v", ctx.Err(), err)
	}
}
