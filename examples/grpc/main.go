// Command grpc shows sessionkit in a gRPC server, as the README's "Any
// transport" section does: interceptors load the session named by the
// "session" metadata key with Manager.Load, and save it with Manager.Commit,
// sending the client the token it holds from then on. The service is gRPC's
// health service, whose Check counts the caller's visits in its session.
//
//	cd examples/grpc && go run .
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"strconv"

	"github.com/sessionkit/session"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func main() {
	// The memory driver's sessions end with the process: a fresh secret
	// per run does as well as SESSION_SECRET.
	secret := cmp.Or(os.Getenv("SESSION_SECRET"), rand.Text()+rand.Text())
	m, err := session.New(session.Config{Secret: secret, Driver: "memory"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := newServer(m, visits{})
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := grpc_health_v1.NewHealthClient(conn)
	token := ""
	for call := 1; call <= 2; call++ {
		var header metadata.MD
		ctx := metadata.AppendToOutgoingContext(context.Background(), "session", token)
		if _, err := client.Check(ctx, &grpc_health_v1.HealthCheckRequest{}, grpc.Header(&header)); err != nil {
			log.Fatal(err)
		}
		sent := token != ""
		token = first(header.Get("session"))
		fmt.Printf("call %d: token sent: %t, visits: %s, token back: %.12s...\n", call, sent, first(header.Get("visits")), token)
	}
}

// newServer is a gRPC server with the session interceptors, serving h.
func newServer(m *session.Manager, h grpc_health_v1.HealthServer) *grpc.Server {
	srv := grpc.NewServer(grpc.UnaryInterceptor(unarySessions(m)), grpc.StreamInterceptor(streamSessions(m)))
	grpc_health_v1.RegisterHealthServer(srv, h)
	return srv
}

// visits is the application: each Check counts a visit in the caller's
// session and sends the count in the "visits" header.
type visits struct {
	grpc_health_v1.UnimplementedHealthServer
}

// Check counts a visit and reports the server as serving.
func (visits) Check(ctx context.Context, _ *grpc_health_v1.HealthCheckRequest) (*grpc_health_v1.HealthCheckResponse, error) {
	s := session.FromContext(ctx)
	n, _ := session.GetAs[int](s, "visits")
	s.Put("visits", n+1)
	grpc.SetHeader(ctx, metadata.Pairs("visits", strconv.Itoa(n+1)))
	return &grpc_health_v1.HealthCheckResponse{Status: grpc_health_v1.HealthCheckResponse_SERVING}, nil
}

// A gRPC unary interceptor: the session travels in the "session" metadata key.
// The token to hold from then on comes back in the response header ("": drop
// it), so handlers leave sending the header to the interceptor.
func unarySessions(m *session.Manager) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		ctx, s, err := m.Load(ctx, first(metadata.ValueFromIncomingContext(ctx, "session"))) // bad or unknown token: a new session, no error
		if err != nil {
			return nil, failed(err) // codes.Unavailable when the store failed
		}
		resp, err := next(ctx, req) // handlers use session.FromContext(ctx)
		token, _, cerr := m.Commit(ctx, s)
		if cerr != nil {
			return nil, failed(cerr)
		}
		grpc.SetHeader(ctx, metadata.Pairs("session", token))
		return resp, err
	}
}

// streamSessions is the same for streams, but the token comes back in the
// trailer: the header has gone out with the first message.
func streamSessions(m *session.Manager) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		ctx, s, err := m.Load(ss.Context(), first(metadata.ValueFromIncomingContext(ss.Context(), "session")))
		if err != nil {
			return failed(err)
		}
		err = next(srv, sessionStream{ss, ctx})
		token, _, cerr := m.Commit(ctx, s)
		if cerr != nil {
			return failed(cerr)
		}
		ss.SetTrailer(metadata.Pairs("session", token))
		return err
	}
}

// sessionStream is a stream whose context carries the session.
type sessionStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s sessionStream) Context() context.Context { return s.ctx }

// failed logs why a session was not loaded or saved, and tells the client
// only that: Unavailable (worth a retry) when the store failed.
func failed(err error) error {
	log.Print(err)
	if errors.Is(err, session.ErrStore) {
		return status.Error(codes.Unavailable, "session store unavailable")
	}
	return status.Error(codes.Internal, "session not saved")
}

// first returns the first of values, or "".
func first(values []string) string {
	if len(values) == 0 {
		return ""
	}
	return values[0]
}
