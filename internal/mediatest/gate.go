package mediatest

import (
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/testenv"
)

// Skip skips t with a formatted reason, or fails it under CI's $UGCSR_REQUIRE_ORT=1 (testenv.Skip).
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Skip(t, format, args...)
}

// AtLeast is a minimum gate: it reports a test error and returns false unless got >= min. Written
// as !(got >= min), it fails on NaN and on -Inf; +Inf (identical frames) passes.
func AtLeast(t testing.TB, what string, got, min float64) bool {
	t.Helper()
	if !(got >= min) {
		t.Errorf("%s: %.6g, want >= %.6g", what, got, min)
		return false
	}
	return true
}

// AtMost is a maximum gate: it reports a test error and returns false unless got <= max, so NaN
// and +Inf fail.
func AtMost(t testing.TB, what string, got, max float64) bool {
	t.Helper()
	if !(got <= max) {
		t.Errorf("%s: %.6g, want <= %.6g", what, got, max)
		return false
	}
	return true
}

// PSNR returns frame.PSNR(got, want), failing t at once when the sizes differ or a sample is NaN
// or infinite.
func PSNR(t testing.TB, got, want *frame.Frame) float64 {
	t.Helper()
	p, err := frame.PSNR(got, want)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// MaxDiff returns frame.MaxDiff(got, want) (in 8-bit steps), failing t at once when the sizes
// differ or a sample is NaN or infinite.
func MaxDiff(t testing.TB, got, want *frame.Frame) int {
	t.Helper()
	d, err := frame.MaxDiff(got, want)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
