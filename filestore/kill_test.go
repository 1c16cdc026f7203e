package filestore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/internal/leakcheck"
)

// The SIGKILL test (issue 7): a child process writes sessions through a
// Manager on a filestore, and is killed with SIGKILL at random moments; after
// every kill, every session in the directory decodes or is absent.
const (
	envKillDir   = "FILESTORE_KILL_WRITER_DIR" // set in the writer child: the store's directory
	envKillState = "FILESTORE_KILL_WRITER_STATE"
	killSecret   = "filestore kill test secret"
	killSlots    = 12 // sessions the writers keep rewriting, across kills
)

// killManager returns a Manager on a filestore in dir that never sweeps.
func killManager(dir string) (*session.Manager, *filestore.Store, error) {
	st, err := filestore.New(dir)
	if err != nil {
		return nil, nil, err
	}
	m, err := session.New(session.Config{Secret: killSecret, Store: st, Lottery: [2]int{0, 1}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return m, st, nil
}

// killWriter is the body of the writer child that TestKillMidWrite starts
// (the test binary re-executed with envKillDir set; TestMain runs it instead
// of the tests). The child rewrites killSlots sessions (their cookies kept in
// files of the state directory, written through rename, so that every child
// continues the same sessions) with payloads of 1 KiB to 256 KiB and their
// SHA-256, until it is killed. It returns only on an error.
func killWriter(dir string) error {
	stateDir := os.Getenv(envKillState)
	m, _, err := killManager(dir)
	if err != nil {
		return err
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.FromRequest(r)
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		blob := strings.Repeat(fmt.Sprintf("%016x", rand.Uint64()), n/16+1)[:n]
		sum := sha256.Sum256([]byte(blob))
		s.Put("blob", blob)
		s.Put("sum", hex.EncodeToString(sum[:]))
		writes, _ := s.Get("writes", 0).(int)
		s.Put("writes", writes+1)
	}))
	first := rand.IntN(killSlots) // each child starts at another session
	for i := 0; ; i++ {
		slot := filepath.Join(stateDir, fmt.Sprintf("cookie-%02d", (first+i)%killSlots))
		r := httptest.NewRequest("GET", fmt.Sprintf("/?n=%d", 1024+rand.IntN(255*1024)), nil)
		// Every fourth write starts a new session (created in place, not
		// renamed), whose cookie then replaces the slot's.
		if v, err := os.ReadFile(slot); err == nil && rand.IntN(4) != 0 {
			r.AddCookie(&http.Cookie{Name: session.DefaultCookie, Value: string(v)})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return fmt.Errorf("write %d: status %d %s", i, w.Code, w.Body)
		}
		for _, c := range w.Result().Cookies() {
			if c.Name == session.DefaultCookie && c.Value != "" {
				tmp := slot + ".tmp"
				if err := os.WriteFile(tmp, []byte(c.Value), 0o600); err != nil {
					return err
				}
				if err := os.Rename(tmp, slot); err != nil {
					return err
				}
			}
		}
		if i == 0 {
			// Tell the parent that writing has begun.
			if err := os.WriteFile(filepath.Join(stateDir, "started"), nil, 0o600); err != nil {
				return err
			}
		}
	}
}

// A writer killed with SIGKILL, many times, at random moments of its
// writes (a quarter of the time as soon as a write's temporary file shows, a
// quarter as soon as a new session file shows; a quarter of the writes
// create new sessions in place): afterwards every
// session file decodes through the Manager (with a payload matching its
// checksum) or is absent, never torn, and whatever temporary and
// half-created files the kills left behind are not sessions.
func TestKillMidWrite(t *testing.T) {
	leakcheck.Check(t)
	dir, stateDir := t.TempDir(), t.TempDir()
	kills := 30
	if v, err := strconv.Atoi(os.Getenv("FILESTORE_KILLS")); err == nil && v > 0 {
		kills = v
	}
	m, st, err := killManager(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	defer m.Close()

	var checked, leftovers, sawTemp, midCreate int
	var others []string
	seen := map[string]bool{}
	start := time.Now()
	for k := range kills {
		os.Remove(filepath.Join(stateDir, "started"))
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), envKillDir+"="+dir, envKillState+"="+stateDir)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(stateDir, "started")); err == nil {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("kill %d: the writer ended before it was killed: %v\n%s", k, err, out.String())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-exited
				t.Fatalf("kill %d: the writer did not start within 30s:\n%s", k, out.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		switch k % 4 {
		case 0, 2:
			// At a random moment.
			time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		case 3:
			// As soon as a new session file shows: inside its creation.
			waitForNewSession(dir, seen, time.Second)
		default:
			// As soon as a write's temporary file shows: inside a write.
			if waitForTemp(dir, seen, time.Second) {
				sawTemp++
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		err := <-exited
		if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the writer was not killed but ended: %v\n%s", k, err, out.String())
		}
		checked, others = checkSessions(t, m, st, dir)
		for _, name := range others {
			if !strings.HasPrefix(name, ".") && !seen[name] {
				// A session file that is not listed: one being created in
				// place when the kill came, which stays expired.
				seen[name] = true
				midCreate++
			}
		}
		hit := false
		for _, name := range tempFiles(dir) {
			hit = hit || !seen[name] // a new temporary file: the kill hit a write
			seen[name] = true
		}
		if hit {
			leftovers++
		}
	}
	t.Logf("%d kills in %v (%d of those waiting for a temporary file saw one); %d of them left a new temporary file (killed mid-write), %d a new session half created in place (which reads as absent); after the last, %d sessions decode and %d other names (temporary, lock and half-created files) are not sessions",
		kills, time.Since(start).Round(time.Millisecond), sawTemp, leftovers, midCreate, checked, len(others))
	if checked == 0 {
		t.Error("no session was written: the writers wrote nothing")
	}
	if _, err := st.Sweep(context.Background()); err != nil {
		t.Errorf("Sweep after the kills: %v", err)
	}
}

// tempFiles returns the store's temporary files: those in its .tmp
// directory, and (as older layouts wrote them) files at the top of dir whose
// names start with a dot.
func tempFiles(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	entries, _ = os.ReadDir(filepath.Join(dir, ".tmp"))
	for _, e := range entries {
		names = append(names, filepath.Join(".tmp", e.Name()))
	}
	return names
}

// waitForNewSession polls dir until a file with a name not starting with a
// dot appears that is not in old, or timeout passes.
func waitForNewSession(dir string, old map[string]bool, timeout time.Duration) {
	known := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		known[e.Name()] = true
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if name := e.Name(); !known[name] && !old[name] && !strings.HasPrefix(name, ".") {
				return
			}
		}
	}
}

// waitForTemp polls dir until a temporary file not in old (the leftovers of
// earlier kills) appears, or timeout passes, and reports whether one did.
func waitForTemp(dir string, old map[string]bool, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		for _, name := range tempFiles(dir) {
			if !old[name] {
				return true
			}
		}
	}
	return false
}

// checkSessions checks every name in dir: a session (a name the store lists)
// loads and decodes with its checksum, or is absent; any other name is not
// loadable as a session. It returns the number of sessions that decoded
// and of other names (the store's temporary and lock files).
func checkSessions(t *testing.T, m *session.Manager, st *filestore.Store, dir string) (decoded int, others []string) {
	t.Helper()
	ctx := context.Background()
	listed := map[string]bool{}
	if err := st.List(ctx, func(id string, _ time.Time) bool { listed[id] = true; return true }); err != nil {
		t.Fatalf("List: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		data, _, found, err := st.Load(ctx, name)
		if err != nil {
			t.Errorf("Load(%q): %v", name, err)
			continue
		}
		if !listed[name] {
			others = append(others, name)
			if found {
				t.Errorf("%q is not listed as a session but loads as one", name)
			}
			continue
		}
		if !found {
			continue // removed or expired since List: absent is fine
		}
		if err := checkPayload(m, name, data); err != nil {
			t.Errorf("session %s (%d bytes) is torn: %v", name, len(data), err)
			continue
		}
		decoded++
	}
	for id := range listed {
		if _, err := os.Stat(filepath.Join(dir, id)); err != nil && !os.IsNotExist(err) {
			t.Errorf("listed session %s: %v", id, err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return decoded, others
}

// checkPayload decodes a stored payload through the Manager and checks its
// blob against its checksum.
func checkPayload(m *session.Manager, id string, data []byte) error {
	env, err := m.Open(id, data)
	if err != nil {
		return err
	}
	var v struct {
		Data struct {
			Blob string `json:"blob"`
			Sum  string `json:"sum"`
		} `json:"data"`
	}
	if err := json.Unmarshal(env, &v); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	sum := sha256.Sum256([]byte(v.Data.Blob))
	if hex.EncodeToString(sum[:]) != v.Data.Sum {
		return fmt.Errorf("blob of %d bytes does not match its checksum", len(v.Data.Blob))
	}
	return nil
}
