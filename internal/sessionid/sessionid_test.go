package sessionid

import (
	"hash/fnv"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for id, want := range map[string]bool{
		"":                            false,
		"a":                           true,
		"A-_z09":                      true,
		strings.Repeat("x", MaxLen):   true,
		strings.Repeat("x", MaxLen+1): false,
		"a/b":                         false,
		"../x":                        false,
		"a b":                         false,
		"a\x00":                       false,
		"é":                           false,
		"a.b":                         false,
		"a+b":                         false,
		"a=":                          false,
	} {
		if got := Valid(id); got != want {
			t.Errorf("Valid(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCanonical(t *testing.T) {
	ok := strings.Repeat("A", Len)
	if !Canonical(ok) {
		t.Errorf("Canonical(%q) = false", ok)
	}
	for _, id := range []string{"", "a", ok[1:], ok + "A", ok[1:] + "/", ok[1:] + "="} {
		if Canonical(id) {
			t.Errorf("Canonical(%q) = true", id)
		}
	}
}

// TestShard checks Shard against hash/fnv: the file store's layout on disk
// depends on it never changing.
func TestShard(t *testing.T) {
	for _, id := range []string{"", "a", "session-id", strings.Repeat("Zz_-", 11)} {
		h := fnv.New32a()
		h.Write([]byte(id))
		for _, n := range []int{1, 32, 256} {
			if got, want := Shard(id, n), int(h.Sum32()%uint32(n)); got != want {
				t.Errorf("Shard(%q, %d) = %d, want %d", id, n, got, want)
			}
		}
	}
}

func TestValidUser(t *testing.T) {
	for user, want := range map[string]bool{
		"":                                false,
		"ana":                             true,
		"ü ":                              true,
		"a\x00b":                          false,
		"\xff":                            false,
		strings.Repeat("x", MaxUserLen):   true,
		strings.Repeat("x", MaxUserLen+1): false,
		"'; DROP TABLE sessions; --":      true,
	} {
		if got := ValidUser(user); got != want {
			t.Errorf("ValidUser(%q) = %v, want %v", user, got, want)
		}
	}
}

func TestAbbrev(t *testing.T) {
	for in, want := range map[string]string{
		"":              "",
		"abc":           "abc",
		"abcdefghijkl":  "abcdefghijkl",
		"abcdefghijklm": "abcdefghijkl...",
		"Vx3kQ9_aB2cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4": "Vx3kQ9_aB2cD...",
	} {
		if got := Abbrev(in); got != want {
			t.Errorf("Abbrev(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnabbrev(t *testing.T) {
	id := "Vx3kQ9_aB2cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4"
	if start, ok := Unabbrev(Abbrev(id)); !ok || start != id[:ShortLen] || len(Abbrev(id)) != AbbrevLen {
		t.Errorf("Unabbrev(Abbrev(id)) = %q, %v", start, ok)
	}
	if start, ok := Unabbrev(id); ok || start != id {
		t.Errorf("Unabbrev(id) = %q, %v, want the id, false", start, ok)
	}
}
