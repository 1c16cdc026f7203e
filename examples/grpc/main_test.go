package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/internal/readmetest"
	"github.com/sessionkit/session/memstore"
	"github.com/sessionkit/session/storetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// testHealth is the example's visit counter; a Check of the service "read"
// only reads the session, "login" regenerates its ID, "logout" destroys it;
// Watch counts a visit, sends one status and ends.
type testHealth struct{ visits }

func (h testHealth) Check(ctx context.Context, req *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	s := session.FromContext(ctx)
	var err error
	switch req.Service {
	case "read":
		n, _ := session.GetAs[int](s, "visits")
		grpc.SetHeader(ctx, metadata.Pairs("visits", strconv.Itoa(n)))
	case "login":
		err = s.Regenerate()
	case "logout":
		err = s.Destroy()
	default:
		return h.visits.Check(ctx, req)
	}
	return &grpc_health_v1.HealthCheckResponse{}, err
}

func (testHealth) Watch(_ *grpc_health_v1.HealthCheckRequest, stream grpc.ServerStreamingServer[grpc_health_v1.HealthCheckResponse]) error {
	s := session.FromContext(stream.Context())
	n, _ := session.GetAs[int](s, "visits")
	s.Put("visits", n+1)
	return stream.Send(&grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING})
}

// downStore is the memory store, failing while down is set.
type downStore struct {
	session.Store
	down    atomic.Bool
	updates atomic.Int64
}

var errDown = errors.New("store down")

func (d *downStore) Load(ctx context.Context, id string) ([]byte, time.Time, bool, error) {
	if d.down.Load() {
		return nil, time.Time{}, false, errDown
	}
	return d.Store.Load(ctx, id)
}

func (d *downStore) Update(ctx context.Context, id string, fn func([]byte, bool) ([]byte, time.Time, error)) error {
	if d.down.Load() {
		return errDown
	}
	d.updates.Add(1)
	return d.Store.Update(ctx, id, fn)
}

// client calls the server through bufconn, sending the token it holds and
// keeping the one it gets back.
type client struct {
	t      *testing.T
	health grpc_health_v1.HealthClient
	token  string
}

func start(t *testing.T) (*client, *downStore) {
	st := &downStore{Store: memstore.New()}
	m := storetest.NewManager(t, st, session.Config{})
	lis := bufconn.Listen(1 << 20)
	srv := newServer(m, testHealth{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, health: grpc_health_v1.NewHealthClient(conn)}, st
}

// check calls Check for service, and returns the "visits" header and the
// call's error; the client keeps the token that came back.
func (c *client) check(service string) (visits string, err error) {
	c.t.Helper()
	var header metadata.MD
	ctx := metadata.AppendToOutgoingContext(c.t.Context(), "session", c.token)
	_, err = c.health.Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: service}, grpc.Header(&header))
	if v := header.Get("session"); len(v) == 1 {
		c.token = v[0]
	} else if err == nil {
		c.t.Fatalf("%d session tokens in the header, want 1", len(v))
	}
	return first(header.Get("visits")), err
}

func (c *client) visit(want string) {
	c.t.Helper()
	if got, err := c.check(""); err != nil || got != want {
		c.t.Fatalf("visit: %q, %v; want %q", got, err, want)
	}
}

// TestUnary: a call without a token gets one, the next call with it sees the
// state, a forged token gets a new session, an untouched session keeps its
// token and is not written, Regenerate changes the token and the old one loads
// nothing, Destroy sends "".
func TestUnary(t *testing.T) {
	c, st := start(t)
	c.visit("1")
	if c.token == "" {
		t.Fatal("no token after the first call")
	}
	c.visit("2")
	good := c.token

	forged := []byte(good) // one character of the signature changed
	forged[len(forged)-2] ^= 'A' ^ 'B'
	c.token = string(forged)
	c.visit("1")
	if c.token == good || c.token == "" {
		t.Errorf("forged token: got %q back", c.token)
	}

	c.token = good
	updates := st.updates.Load()
	if v, err := c.check("read"); err != nil || v != "2" || c.token != good {
		t.Errorf("untouched call: visits %q, %v, token changed: %t", v, err, c.token != good)
	}
	if n := st.updates.Load() - updates; n != 0 {
		t.Errorf("untouched call: %d store writes", n)
	}

	if _, err := c.check("login"); err != nil || c.token == good || c.token == "" {
		t.Fatalf("Regenerate: %v, token changed: %t", err, c.token != good)
	}
	c.visit("3")
	regenerated := c.token
	c.token = good
	if v, _ := c.check("read"); v != "0" || c.token != "" {
		t.Errorf("the token from before Regenerate: visits %q, token back %q", v, c.token)
	}

	c.token = regenerated
	if _, err := c.check("logout"); err != nil || c.token != "" {
		t.Errorf("Destroy: %v, token back %q, want none", err, c.token)
	}
}

// TestStoreDown: a store that fails to load or to save is Unavailable, and
// the client keeps its token.
func TestStoreDown(t *testing.T) {
	c, st := start(t)
	c.visit("1")
	good := c.token
	st.down.Store(true)
	if _, err := c.check(""); status.Code(err) != codes.Unavailable || c.token != good {
		t.Errorf("load failed: %v, token kept: %t", err, c.token == good)
	}
	c.token = ""
	if _, err := c.check(""); status.Code(err) != codes.Unavailable || c.token != "" {
		t.Errorf("save failed: %v, token %q", err, c.token)
	}
	st.down.Store(false)
	c.token = good
	c.visit("2")
}

// TestStream: the stream interceptor loads the session for the handler and
// sends the token in the trailer.
func TestStream(t *testing.T) {
	c, _ := start(t)
	c.visit("1")
	ctx := metadata.AppendToOutgoingContext(t.Context(), "session", c.token)
	stream, err := c.health.Watch(ctx, &grpc_health_v1.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = stream.Recv()
	}
	if err != io.EOF {
		t.Fatal(err)
	}
	if got := first(stream.Trailer().Get("session")); got != c.token {
		t.Errorf("token in the trailer: %q, want %q", got, c.token)
	}
	c.visit("3")
}

// TestREADME: the interceptor in the README's "Any transport" section is
// this package's tested code, line for line.
func TestREADME(t *testing.T) {
	readmetest.Check(t, "../../README.md", "Any transport: Load and Commit, and API tokens", "main.go")
}
