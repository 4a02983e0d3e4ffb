package ort

import (
	"runtime"
	"testing"
)

// TestRuntimeInit: the defaults every ONNX backend gets: all cores, and the cache $UGCSR_CACHE names.
func TestRuntimeInit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("UGCSR_CACHE", dir)
	var r Runtime
	r.Init()
	if r.CacheDir != dir || r.Threads != runtime.NumCPU() || r.Device != DeviceAuto {
		t.Fatalf("Init gave %+v; want cache %s, %d threads, auto", r, dir, runtime.NumCPU())
	}
	r = Runtime{Threads: 3, CacheDir: "/x"}
	r.Init()
	if r.Threads != 3 || r.CacheDir != "/x" {
		t.Fatalf("Init replaced given values: %+v", r)
	}
}
