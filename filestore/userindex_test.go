package filestore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/session"
	"github.com/sessionkit/session/filestore"
	"github.com/sessionkit/session/storetest"
)

func TestUserIndexConformance(t *testing.T) {
	storetest.RunUserIndex(t, func(t *testing.T) session.Store { return newStore(t, t.TempDir()) })
}

// Environment of the child processes of TestUserIndexCrossProcess.
const (
	envUserChildDir  = "FILESTORE_TEST_USER_CHILD_DIR"
	envUserChildSync = "FILESTORE_TEST_USER_CHILD_SYNC"
	envUserChildName = "FILESTORE_TEST_USER_CHILD_NAME"
	userChildAdds    = 200
	crossUser        = "shared user"
)

// Two processes and this one add entries for one user at once, and rewrite
// its index file now and then: every entry lands, and every removed one
// goes.
func TestUserIndexCrossProcess(t *testing.T) {
	dir, syncDir := t.TempDir(), t.TempDir()
	s := newStore(t, dir)
	names := []string{"a", "b"}
	cmds := make([]*exec.Cmd, len(names))
	outs := make([]*bytes.Buffer, len(names))
	for i, name := range names {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envUserChildDir+"="+dir, envUserChildSync+"="+syncDir, envUserChildName+"="+name)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range names {
		for {
			if _, err := os.Stat(filepath.Join(syncDir, "ready-"+name)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				for _, c := range cmds {
					c.Process.Kill()
					c.Wait()
				}
				t.Fatalf("child %s did not get ready", name)
			}
			time.Sleep(time.Millisecond)
		}
	}
	if err := os.WriteFile(filepath.Join(syncDir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := range userChildAdds {
		id := storetest.NewID()
		want[id] = true
		if err := addAndChurn(s, i, id); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %s: %v\n%s", names[i], err, outs[i])
		}
		b, err := os.ReadFile(filepath.Join(syncDir, "ids-"+names[i]))
		if err != nil {
			t.Fatal(err)
		}
		ids := strings.Fields(string(b))
		if len(ids) != userChildAdds {
			t.Fatalf("child %s reports %d IDs, want %d", names[i], len(ids), userChildAdds)
		}
		for _, id := range ids {
			want[id] = true
		}
	}
	got := userIDs(t, s, crossUser)
	lost := 0
	for id := range want {
		if _, ok := slices.BinarySearch(got, id); !ok {
			lost++
		}
	}
	if lost > 0 || len(got) != len(want) {
		t.Errorf("%d entries added by three processes at once, %d listed: %d lost, %d removed ones still there", len(want), len(got), lost, len(got)-(len(want)-lost))
	}
}

// addAndChurn adds id to crossUser's index; every fourth time it also adds
// an entry and removes it, a rewrite of the index file (through rename)
// that would lose the adds of other processes made meanwhile but for the
// lock.
func addAndChurn(s *filestore.Store, i int, id string) error {
	ctx := context.Background()
	if err := s.AddUserSession(ctx, crossUser, id); err != nil {
		return err
	}
	if i%4 != 0 {
		return nil
	}
	junk := storetest.NewID()
	if err := s.AddUserSession(ctx, crossUser, junk); err != nil {
		return err
	}
	return s.RemoveUserSessions(ctx, crossUser, junk)
}

// userChild is the body of a child process of TestUserIndexCrossProcess:
// it adds userChildAdds entries for crossUser (addAndChurn), as fast as it
// can once the parent says go, and writes their IDs to ids-<name>.
func userChild(dir string) int {
	syncDir, name := os.Getenv(envUserChildSync), os.Getenv(envUserChildName)
	fail := func(format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "child %s: "+format+"\n", append([]any{name}, args...)...)
		return 1
	}
	s, err := filestore.New(dir)
	if err != nil {
		return fail("%v", err)
	}
	defer s.Close()
	ids := make([]string, userChildAdds)
	for i := range ids {
		ids[i] = storetest.NewID()
	}
	if err := os.WriteFile(filepath.Join(syncDir, "ready-"+name), nil, 0o600); err != nil {
		return fail("%v", err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(syncDir, "go")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fail("no go signal")
		}
	}
	for i, id := range ids {
		if err := addAndChurn(s, i, id); err != nil {
			return fail("add %d: %v", i, err)
		}
	}
	if err := os.WriteFile(filepath.Join(syncDir, "ids-"+name), []byte(strings.Join(ids, "\n")), 0o600); err != nil {
		return fail("%v", err)
	}
	return 0
}
