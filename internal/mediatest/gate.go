package mediatest

import (
	"os"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
)

// EnvRequire names the variable that, set to 1 (as CI does), turns Skip into a failure. It is the
// variable sr/ort's TestSkip reads.
const EnvRequire = "UGCSR_REQUIRE_ORT"

// Skip skips t with a formatted reason, or fails it when $UGCSR_REQUIRE_ORT is 1, so CI notices a
// missing ../shared file, runtime, model or cache entry instead of passing without running. Opt-in
// measurements skip with t.Skip directly.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s=1 but: "+format, append([]any{EnvRequire}, args...)...)
	}
	t.Skipf(format, args...)
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
