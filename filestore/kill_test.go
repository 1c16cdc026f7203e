package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
// Manager on a filestore, and is killed with SIGKILL at random moments and
// inside its writes; after every kill, every session in the directory
// decodes or is absent, and none that was written is lost.
const (
	envKillDir   = "FILESTORE_KILL_WRITER_DIR" // set in the writer child: the store's directory
	envKillState = "FILESTORE_KILL_WRITER_STATE"
	killSecret   = "filestore kill test secret, not for production"
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

// The stage file of the state directory says where the writer child is in
// an in-place write: its byte 0 is stageIdle, stageData (its data is being
// written), stageHeader (the data is written, the header is being written),
// stagePaused (stopped there at the parent's request, until killed),
// stageWipe (the header is written, the previous data is being wiped) or
// stageWipePaused (stopped before the wipe at the parent's request); the
// parent sets its byte 1 to pauseRequest or pauseWipeRequest to ask for
// those stops. Byte 0 is
// stageIndexPaused when the child stopped, at the parent's request
// (pauseIndexRequest), between a write's index entry and its session; the
// child then has written the session's ID to the file "paused-id".
const (
	stageIdle         = '0'
	stageData         = 'd'
	stageHeader       = 'h'
	stagePaused       = 'H'
	stageWipe         = 'w'
	stageWipePaused   = 'W'
	stageIndexPaused  = 'I'
	pauseRequest      = 'p'
	pauseWipeRequest  = 'x'
	pauseIndexRequest = 'i'
)

// killWriter is the body of the writer child that TestKillMidWrite starts
// (the test binary re-executed with envKillDir set; TestMain runs it instead
// of the tests). The child rewrites killSlots sessions (their cookies kept in
// files of the state directory, written through rename, so that every child
// continues the same sessions) with payloads of 1 KiB to 256 KiB and their
// SHA-256, until it is killed; it reports the stages of its in-place writes
// in the stage file. It returns only on an error.
func killWriter(dir string) error {
	stateDir := os.Getenv(envKillState)
	m, _, err := killManager(dir)
	if err != nil {
		return err
	}
	stage, err := os.OpenFile(filepath.Join(stateDir, "stage"), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	filestore.SetWriteHook(func(at string) {
		switch at {
		case "data":
			stage.WriteAt([]byte{stageData}, 0)
		case "header":
			var req [1]byte
			if _, err := stage.ReadAt(req[:], 1); err == nil && req[0] == pauseRequest {
				stage.WriteAt([]byte{stagePaused}, 0)
				time.Sleep(time.Hour) // until the kill
			}
			stage.WriteAt([]byte{stageHeader}, 0)
		case "wipe":
			var req [1]byte
			if _, err := stage.ReadAt(req[:], 1); err == nil && req[0] == pauseWipeRequest {
				stage.WriteAt([]byte{stageWipePaused}, 0)
				time.Sleep(time.Hour) // until the kill
			}
			stage.WriteAt([]byte{stageWipe}, 0)
		case "done":
			stage.WriteAt([]byte{stageIdle}, 0)
		}
	})
	filestore.SetIndexHook(func(id string) {
		var req [1]byte
		if _, err := stage.ReadAt(req[:], 1); err == nil && req[0] == pauseIndexRequest {
			if os.WriteFile(filepath.Join(stateDir, "paused-id"), []byte(id), 0o600) == nil {
				stage.WriteAt([]byte{stageIndexPaused}, 0)
				time.Sleep(time.Hour) // until the kill
			}
		}
	})
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

// A writer killed with SIGKILL, many times, at moments of its writes taken
// in turn: at random, as soon as a write's temporary file shows (a session
// outgrowing or shrinking its file), as soon as an in-place write has begun,
// as soon as a new session file shows (a quarter of the writes create new
// sessions in place), stopped between an in-place write's data and its
// header, stopped between an in-place write's header and the wipe of the
// previous data, and stopped between a write's index entry and its session
// (the entry is then in the log, the session not written). Afterwards every session file decodes through the Manager (with
// a payload matching its checksum) or is absent, never torn; every session
// whose cookie the writer kept decodes, and no session's count of writes
// goes back (a write that completed is never lost); whatever temporary and
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

	var checked, leftovers, sawTemp, midCreate, inData, inHeader, paused, inWipe, pausedWipe, pausedIndex int
	var others []string
	seen := map[string]bool{}
	writes := map[string]int{} // the count of writes each session showed
	stagePath := filepath.Join(stateDir, "stage")
	start := time.Now()
	for k := range kills {
		os.Remove(filepath.Join(stateDir, "started"))
		if err := os.WriteFile(stagePath, []byte{stageIdle, stageIdle}, 0o600); err != nil {
			t.Fatal(err)
		}
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
		switch k % 7 {
		case 0:
			// At a random moment.
			time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		case 1:
			// As soon as a write's temporary file shows: inside a write.
			if waitForTemp(dir, seen, time.Second) {
				sawTemp++
			}
		case 2:
			// As soon as an in-place write has begun: inside it.
			waitForStage(stagePath, time.Second, stageData, stageHeader)
		case 3:
			// As soon as a new session file shows: inside its creation.
			waitForNewSession(dir, seen, time.Second)
		case 4:
			// Stopped between an in-place write's data and its header.
			if err := writeAt(stagePath, 1, pauseRequest); err != nil {
				t.Fatal(err)
			}
			waitForStage(stagePath, 5*time.Second, stagePaused)
		case 5:
			// Stopped between a write's index entry and its session.
			if err := writeAt(stagePath, 1, pauseIndexRequest); err != nil {
				t.Fatal(err)
			}
			waitForStage(stagePath, 5*time.Second, stageIndexPaused)
		case 6:
			// Stopped between an in-place write's header and its wipe.
			if err := writeAt(stagePath, 1, pauseWipeRequest); err != nil {
				t.Fatal(err)
			}
			waitForStage(stagePath, 5*time.Second, stageWipePaused)
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		err := <-exited
		if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
			t.Fatalf("kill %d: the writer was not killed but ended: %v\n%s", k, err, out.String())
		}
		switch b, _ := os.ReadFile(stagePath); b[0] {
		case stageData:
			inData++
		case stageHeader:
			inHeader++
		case stagePaused:
			paused++
		case stageWipe:
			inWipe++
		case stageWipePaused:
			pausedWipe++
		case stageIndexPaused:
			pausedIndex++
			checkEntryFirst(t, dir, stateDir, k)
		}
		var decoded map[string]int
		decoded, others = checkSessions(t, m, st, dir)
		checked = len(decoded)
		for id, n := range decoded {
			if n < writes[id] {
				t.Fatalf("kill %d: session %s shows %d writes, after %d before: a written version was lost", k, id, n, writes[id])
			}
			writes[id] = n
		}
		checkKept(t, stateDir, decoded, k)
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
	t.Logf("%d kills in %v: %d landed in an in-place write (%d in its data, %d between its data and its header, %d of them stopped there on purpose, %d between its header and the end of its wipe, %d of them stopped before the wipe on purpose), %d between an index entry and its session (stopped there on purpose); %d of those waiting for a temporary file saw one, %d left a new temporary file (killed mid-write by rename), %d a new session half created in place (which reads as absent); after the last, %d sessions decode and %d other names (temporary, lock and half-created files) are not sessions",
		kills, time.Since(start).Round(time.Millisecond), inData+inHeader+paused+inWipe+pausedWipe, inData, inHeader+paused, paused, inWipe+pausedWipe, pausedWipe, pausedIndex, sawTemp, leftovers, midCreate, checked, len(others))
	if inData+inHeader+paused+inWipe+pausedWipe == 0 {
		t.Error("no kill landed in an in-place write")
	}
	if kills >= 7 && pausedWipe == 0 {
		t.Error("no kill landed between an in-place write's header and its wipe")
	}
	if checked == 0 {
		t.Error("no session was written: the writers wrote nothing")
	}
	if kills >= 7 && pausedIndex == 0 {
		t.Error("no kill landed between an index entry and its session")
	}
	if _, err := st.Sweep(context.Background()); err != nil {
		t.Errorf("Sweep after the kills: %v", err)
	}
}

// checkEntryFirst checks the session whose write the kill stopped between
// its index entry and its session (its ID in stateDir/paused-id): the entry
// is in the index, and the session is absent (a new one) or holds an expiry
// of an earlier minute than the entry's (the write never happened).
func checkEntryFirst(t *testing.T, dir, stateDir string, k int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "paused-id"))
	if err != nil {
		t.Fatal(err)
	}
	id := string(b)
	entry := ""
	for _, e := range indexEntries(t, dir) {
		if m, eid, _ := strings.Cut(e, "/"); eid == id && m > entry {
			entry = m
		}
	}
	if entry == "" {
		t.Fatalf("kill %d: the write of %s was stopped after its index entry, which is not in the index", k, id)
	}
	content, err := os.ReadFile(filepath.Join(dir, id))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if d := filestore.DecodeFile(content); !d.OK || minute(d.Expiry) >= entry {
		t.Fatalf("kill %d: the write of %s was stopped after its index entry (minute %s), but the session holds expiry %v (ok %v)", k, id, entry, d.Expiry, d.OK)
	}
}

// writeAt writes byte b at offset off of the file at path.
func writeAt(path string, off int64, b byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt([]byte{b}, off)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// waitForStage polls the stage file at path until its byte 0 is one of
// stages, or timeout passes.
func waitForStage(path string, timeout time.Duration, stages ...byte) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	var b [1]byte
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if _, err := f.ReadAt(b[:], 0); err == nil && bytes.IndexByte(stages, b[0]) >= 0 {
			return
		}
	}
}

// checkKept checks that the session of every cookie the writer kept in
// stateDir (its write completed) is among the decoded ones: a kill never
// loses a session, whatever write of it it interrupted. A cookie older than
// 4 minutes may name a session that expired (the Manager's lifetime is 5).
func checkKept(t *testing.T, stateDir string, decoded map[string]int, k int) {
	t.Helper()
	entries, err := os.ReadDir(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "cookie-") || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		v, err := os.ReadFile(filepath.Join(stateDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := strings.Cut(string(v), ".")
		if _, ok := decoded[id]; !ok {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 4*time.Minute {
				continue
			}
			t.Fatalf("kill %d: the session of %s, whose write completed, is gone", k, e.Name())
		}
	}
}

// tempFiles returns the store's temporary files: those in its .tmp
// directory, and (as the v1 layout wrote them) files at the top of dir whose
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
// loadable as a session. It returns the sessions that decoded, with their
// count of writes, and the other names (the store's temporary and lock
// files).
func checkSessions(t *testing.T, m *session.Manager, st *filestore.Store, dir string) (decoded map[string]int, others []string) {
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
	decoded = map[string]int{}
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
		n, err := checkPayload(m, name, data)
		if err != nil {
			t.Errorf("session %s (%d bytes) is torn: %v", name, len(data), err)
			continue
		}
		decoded[name] = n
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

// checkPayload decodes a stored payload through the Manager, checks its
// blob against its checksum and returns its count of writes.
func checkPayload(m *session.Manager, id string, data []byte) (writes int, err error) {
	env, err := m.DecodePayload(id, data)
	if err != nil {
		return 0, err
	}
	var v struct {
		Data struct {
			Blob   string `json:"blob"`
			Sum    string `json:"sum"`
			Writes int    `json:"writes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(env, &v); err != nil {
		return 0, fmt.Errorf("envelope: %w", err)
	}
	sum := sha256.Sum256([]byte(v.Data.Blob))
	if hex.EncodeToString(sum[:]) != v.Data.Sum {
		return 0, fmt.Errorf("blob of %d bytes does not match its checksum", len(v.Data.Blob))
	}
	return v.Data.Writes, nil
}
