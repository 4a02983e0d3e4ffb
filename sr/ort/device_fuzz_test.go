package ort

import "testing"

// FuzzParseDevice: no name panics; what parses names itself back (String) or is an alias.
func FuzzParseDevice(f *testing.F) {
	for _, s := range []string{"", "auto", "cpu", "cuda", "gpu", "tensorrt", "trt", "CUDA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDevice(s)
		if err != nil {
			return
		}
		if again, err := ParseDevice(d.String()); err != nil || again != d {
			t.Fatalf("ParseDevice(%q) = %v, which does not parse back (%v, %v)", s, d, again, err)
		}
	})
}
