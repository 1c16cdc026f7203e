package secrettest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestForms(t *testing.T) {
	f := Forms("Ab%2Fc")
	for _, want := range []string{"Ab%2Fc", "Ab/c", "Ab%", "%2F", "2Fc"} {
		if !slices.Contains(f, want) {
			t.Errorf("Forms lacks %q: %q", want, f)
		}
	}
	if f := Forms("A/%b"); slices.Contains(f, "A/%") || slices.Contains(f, "/%b") {
		t.Errorf("Forms holds a fragment with one letter or digit: %q", f)
	}
}

func TestFindErr(t *testing.T) {
	inner := errors.New("invalid escape \"%zz\"")
	err := fmt.Errorf("outer: %w", errors.Join(errors.New("x"), inner))
	if f, text := FindErr(err, "Kw3%zz"); f != "%zz" {
		t.Errorf("FindErr = (%q, %q), want the fragment %%zz", f, text)
	}
	if f, text := FindErr(err, "Kw3:jZQx7"); f != "" {
		t.Errorf("FindErr = (%q, %q), want nothing", f, text)
	}
	if f := Find("user:xxxxx@h", "Kw3:jZQx7"); f != "" {
		t.Errorf("Find = %q in a redacted URL", f)
	}
}
