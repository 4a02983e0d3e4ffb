package ort

import (
	"testing"

	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/internal/testenv"
)

// TestSkip skips t (or fails it when $UGCSR_REQUIRE_ORT is 1, see testenv) with a formatted reason.
// Tests that depend on ONNX Runtime or its models use it for every "not installed" condition.
func TestSkip(t testing.TB, format string, args ...any) {
	t.Helper()
	testenv.Skip(t, format, args...)
}

// TestLoad loads ONNX Runtime for a test, resolving the library like the CLI does without a flag
// ($UGCSR_ORT_LIB, then the cache, appcache.Dir). If there is none it skips t, or fails it when
// $UGCSR_REQUIRE_ORT is 1. It returns the library path.
func TestLoad(t testing.TB) string {
	t.Helper()
	p, err := LibraryPath("", appcache.Dir())
	if err != nil {
		TestSkip(t, "%v", err)
	}
	if err := Load(p); err != nil {
		t.Fatal(err)
	}
	return p
}
