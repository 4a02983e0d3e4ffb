package ort

import (
	"os"
	"testing"

	"github.com/ugcsr/ugcsr/internal/appcache"
)

// EnvRequire names the variable that, set to 1, turns the skips of TestLoad into failures, so CI
// notices when the runtime or the models it should have are missing.
const EnvRequire = "UGCSR_REQUIRE_ORT"

// TestSkip skips t (or fails it when $UGCSR_REQUIRE_ORT is 1) with a formatted reason. Tests that
// depend on ONNX Runtime or its models use it for every "not installed" condition.
func TestSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s=1 but: "+format, append([]any{EnvRequire}, args...)...)
	}
	t.Skipf(format, args...)
}

// TestLoad loads ONNX Runtime for a test, resolving the library like the CLI does without flags
// (LibraryFor with DeviceAuto: $UGCSR_ORT_LIB, then the cache, appcache.Dir). If there is none it
// skips t, or fails it when $UGCSR_REQUIRE_ORT is 1. It returns the library path.
func TestLoad(t testing.TB) string {
	t.Helper()
	p, err := LibraryFor("", appcache.Dir(), DeviceAuto)
	if err != nil {
		TestSkip(t, "%v", err)
	}
	if err := Load(p); err != nil {
		t.Fatal(err)
	}
	return p
}
