package sqlstore_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// A program pays only for the database it uses (issue 15): sqlstore
// imports no SQL driver, and each dialect package imports its own driver
// and no other.
func TestDialectPackagesImportOneDriver(t *testing.T) {
	drivers := map[string]string{
		"sqlite":   "modernc.org/sqlite",
		"postgres": "github.com/jackc/pgx/v5",
		"mysql":    "github.com/go-sql-driver/mysql",
	}
	for pkg, own := range map[string]string{"": "", "/sqlite": "sqlite", "/postgres": "postgres", "/mysql": "mysql"} {
		path := "github.com/sessionkit/session/sqlstore" + pkg
		out, err := exec.Command("go", "list", "-deps", path).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", path, err, out)
		}
		deps := strings.Fields(string(out))
		for name, drv := range drivers {
			linked := slices.ContainsFunc(deps, func(d string) bool { return d == drv || strings.HasPrefix(d, drv+"/") })
			if want := name == own; linked != want {
				t.Errorf("%s links %s: %v, want %v", path, drv, linked, want)
			}
		}
	}
}
