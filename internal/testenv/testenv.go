// Package testenv holds the one switch CI uses to forbid silent skips.
package testenv

import (
	"os"
	"testing"
)

// EnvRequire names the variable that, set to 1 (as CI does), turns Skip into a failure, so CI
// notices a missing runtime, model, ../shared file or cache entry instead of passing without
// running.
const EnvRequire = "UGCSR_REQUIRE_ORT"

// Skip skips t with a formatted reason, or fails it when $UGCSR_REQUIRE_ORT is 1. Opt-in
// measurements skip with t.Skip directly.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s=1 but: "+format, append([]any{EnvRequire}, args...)...)
	}
	t.Skipf(format, args...)
}
