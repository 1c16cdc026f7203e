package readmetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records the errors reported to it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	readme := filepath.Join(dir, "README.md")
	src := filepath.Join(dir, "main.go")
	doc := "# x\n\n### chi\n\nText.\n\n```go\nimport \"x\"\n\nr := chi.NewRouter()\n    r.Use(m.Middleware)\n```\n\n### gin\n\n```go\nnot checked\n```\n"
	if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code string
		errs int
	}{
		{"r := chi.NewRouter()\nr.Use(m.Middleware)\n", 0},
		{"r := chi.NewRouter()\n", 1},
		{"", 2},
	} {
		if err := os.WriteFile(src, []byte(tc.code), 0o644); err != nil {
			t.Fatal(err)
		}
		r := &recorder{TB: t}
		Check(r, readme, "chi", src)
		if len(r.errs) != tc.errs {
			t.Errorf("source %q: %d errors %q, want %d", tc.code, len(r.errs), r.errs, tc.errs)
		}
	}
}
