package filestore

import "testing"

func TestRedactPaths(t *testing.T) {
	const dir = "/srv/app/sessions_of_production_site/"
	id := "Vx3kQ9_aB2cD4eF5gH6iJ7kL8mN9oP0qR1sT2uV3wX4"
	for _, tc := range []struct{ in, want string }{
		{"no path here", "no path here"},
		{"open " + dir + id + ": permission denied", "open " + dir + "Vx3kQ9_aB2cD...: permission denied"},
		{"rename " + dir + ".tmp/d0-abc " + dir + id + ": file exists", "rename " + dir + ".tmp/d0-abc " + dir + "Vx3kQ9_aB2cD...: file exists"},
		{"open " + dir + ".users/ab/" + "abcdef0123456789abcdef", "open " + dir + ".users/ab/abcdef012345..."},
		{"short " + dir + "abc.lock and " + dir, "short " + dir + "abc.lock and " + dir},
		{dir + id + " " + dir + id, dir + "Vx3kQ9_aB2cD... " + dir + "Vx3kQ9_aB2cD..."},
		// The directory's own long name, before the prefix, stays whole.
		{"/srv/app/sessions_of_production_site is full", "/srv/app/sessions_of_production_site is full"},
	} {
		got, changed := redactPaths(tc.in, dir)
		if got != tc.want || changed != (tc.in != tc.want) {
			t.Errorf("redactPaths(%q) = %q, %v; want %q", tc.in, got, changed, tc.want)
		}
	}
}
