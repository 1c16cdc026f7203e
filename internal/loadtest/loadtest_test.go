package loadtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session/internal/leakcheck"
	"github.com/sessionkit/session/internal/loadtest"
	"github.com/sessionkit/session/internal/testserver"

	_ "github.com/sessionkit/session/drivers"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testserver.StopPostgres()
	testserver.StopRedis()
	os.Exit(code)
}

// check fails t unless the run had requests of every kind, no error, and no
// lost or phantom update.
func check(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	t.Logf("\n%v", rep)
	if rep.Reads == 0 || rep.Writes == 0 || rep.Pushes == 0 {
		t.Errorf("the run lacked a kind of request: %d reads, %d writes, %d pushes", rep.Reads, rep.Writes, rep.Pushes)
	}
	if rep.Errors != 0 {
		t.Errorf("%d requests failed; the first: %s", rep.Errors, rep.FirstError)
	}
	if rep.LostUpdates != 0 || rep.Phantoms != 0 {
		t.Errorf("%d lost updates, %d phantom updates", rep.LostUpdates, rep.Phantoms)
	}
	if len(rep.Samples) < 2 {
		t.Errorf("%d memory samples, want one at the start and one at the end at least", len(rep.Samples))
	}
}

// TestRun runs the load on the file, SQLite, PostgreSQL and Redis drivers
// (PostgreSQL and Redis private, from internal/testserver) and checks: no
// errors, no lost updates, and no goroutine left behind. By default each run
// is a short correctness run of 2 s, whose figures are only logged; with
// LOADTEST_DURATION set (e.g. 1m) they are the long runs of BENCHMARKS.md,
// with the generator's default clients and bursts. LOADTEST_DRIVERS (e.g.
// "file sqlite") chooses drivers:
//
//	LOADTEST_DURATION=1m go test -run TestRun -v -timeout 30m ./internal/loadtest
func TestRun(t *testing.T) {
	leakcheck.Check(t)
	opts := loadtest.Options{
		Clients: 10, Duration: 2 * time.Second, BurstEvery: 200 * time.Millisecond, BurstSize: 10,
		Sample: 500 * time.Millisecond,
	}
	if v := os.Getenv("LOADTEST_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("LOADTEST_DURATION=%q: %v", v, err)
		}
		opts = loadtest.Options{Duration: d, Sample: 10 * time.Second}
	}
	drivers := map[string]func(t *testing.T) (string, string){
		"file": func(t *testing.T) (string, string) { return "file", "" },
		"sqlite": func(t *testing.T) (string, string) {
			return "database", "sqlite://" + filepath.Join(t.TempDir(), "load.db")
		},
		"postgres": func(t *testing.T) (string, string) { return "database", testserver.Postgres(t) },
		"redis":    func(t *testing.T) (string, string) { return "redis", "redis://" + testserver.Redis(t) + "/0" },
	}
	names := strings.Fields(os.Getenv("LOADTEST_DRIVERS"))
	if len(names) == 0 {
		names = []string{"file", "sqlite", "postgres", "redis"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			open, ok := drivers[name]
			if !ok {
				t.Fatalf("LOADTEST_DRIVERS: unknown driver %q", name)
			}
			o := opts
			o.Driver, o.Connection = open(t)
			o.Files = t.TempDir()
			rep, err := loadtest.Run(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			check(t, rep)
		})
	}
}

func TestOptionErrors(t *testing.T) {
	for _, o := range []loadtest.Options{
		{Driver: "file"},
		{Driver: "memory", Clients: -1},
		{Driver: "memory", Writes: 2},
		{Driver: "memory", Duration: -time.Second},
	} {
		if _, err := loadtest.Run(t.Context(), o); err == nil || !strings.HasPrefix(err.Error(), "loadtest: ") {
			t.Errorf("Run(%+v): error %v, want a loadtest: error", o, err)
		}
	}
	if _, err := loadtest.Run(t.Context(), loadtest.Options{Driver: "no-such-driver"}); err == nil {
		t.Error("an unknown driver: no error")
	}
}
