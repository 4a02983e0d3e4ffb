package resample

import "testing"

// FuzzParseFilter: no name panics; what parses is one of the three filters.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"lanczos", "bicubic", "area", "box", "", "Lanczos"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fl, err := ParseFilter(s); err == nil && fl != Lanczos && fl != Bicubic && fl != Area {
			t.Fatalf("ParseFilter(%q) = %d", s, fl)
		}
	})
}
