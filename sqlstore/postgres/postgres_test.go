package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sessionkit/session/sqlstore"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want sqlstore.ErrorKind
	}{
		{&pgconn.PgError{Code: "23505"}, sqlstore.KindConflict},
		{&pgconn.PgError{Code: "40001"}, sqlstore.KindRolledBack},
		{&pgconn.PgError{Code: "40P01"}, sqlstore.KindRolledBack},
		{&pgconn.PgError{Code: "57P01"}, sqlstore.KindUnavailable},
		{&pgconn.PgError{Code: "57P03"}, sqlstore.KindUnavailable},
		{&pgconn.PgError{Code: "53300"}, sqlstore.KindUnavailable},
		{&pgconn.PgError{Code: "08006"}, sqlstore.KindUnavailable},
		{&pgconn.PgError{Code: "28P01"}, sqlstore.KindServer}, // invalid password
		{&pgconn.PgError{Code: "42P01"}, sqlstore.KindServer}, // undefined table
		{io.EOF, sqlstore.KindUnknown},
		{errors.New("other"), sqlstore.KindUnknown},
	} {
		if got := (classifier{}).Classify(fmt.Errorf("wrapped: %w", tc.err)); got != tc.want {
			t.Errorf("Classify(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	// A failure to connect is a pgconn.ConnectError (whose cause the
	// Store reads); one the server refused is its PgError.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := pgconn.Connect(ctx, "postgres://u@127.0.0.1:1/x?sslmode=disable&connect_timeout=1")
	if got := (classifier{}).Classify(err); err == nil || got != sqlstore.KindConnect {
		t.Errorf("Classify of a refused connection %v = %d, want KindConnect", err, got)
	}
}
