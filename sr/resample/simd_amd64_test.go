package resample

import "testing"

// useAVX2 selects the AVX2 kernels (when the CPU has them) or the Go loops for the rest of the
// test, for Resizers made after the call, and reports whether the AVX2 kernels are in use.
func useAVX2(t *testing.T, on bool) bool {
	saved := hasAVX2
	t.Cleanup(func() { hasAVX2 = saved })
	hasAVX2 = on && saved
	return hasAVX2
}
