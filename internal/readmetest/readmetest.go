// Package readmetest checks that the code a README shows is code the tests
// run: the adapter and example modules keep their README section's wiring in
// a tested file, line for line.
package readmetest

import (
	"os"
	"strings"
	"testing"
)

// Check fails t unless every line of the first Go block of the section
// "### section" of the README at readme stands in the file at src, imports
// aside and white space trimmed.
func Check(t testing.TB, readme, section, src string) {
	t.Helper()
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	_, text, ok := strings.Cut(string(doc), "\n### "+section+"\n")
	_, block, ok2 := strings.Cut(text, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("%s has no ### %s section with a Go block", readme, section)
	}
	for line := range strings.SplitSeq(block, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "import ") && !strings.Contains(string(code), line) {
			t.Errorf("%s line not in %s: %s", readme, src, line)
		}
	}
}
