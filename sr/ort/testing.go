package ort

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestLoad loads ONNX Runtime for a test: $UGCSR_ORT_LIB, else the cache's CPU build (LibraryPath
// with appcache.Dir), whatever the machine, so that exact comparisons hold on GPU machines too; the
// GPU build is tried in child processes (TestGPUBuild). If there is none it skips t, or fails it
// when $UGCSR_REQUIRE_ORT is 1. It returns the library path.
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

// cudaStub is a stand-in for the CUDA driver: cuInit fails with CUDA_ERROR_NO_DEVICE (100) when
// DEVICES is negative, else cuDeviceGetCount answers DEVICES.
const cudaStub = `
int cuInit(unsigned int flags) { (void)flags; return DEVICES < 0 ? 100 : 0; }
int cuDeviceGetCount(int *n) { *n = DEVICES < 0 ? 0 : DEVICES; return 0; }
int cuGetErrorName(int r, const char **s) { *s = r == 100 ? "CUDA_ERROR_NO_DEVICE" : "CUDA_ERROR_UNKNOWN"; return 0; }
`

// TestCUDAStub builds a stand-in libcuda.so.1 that reports devices CUDA devices (cuInit fails with
// CUDA_ERROR_NO_DEVICE when devices < 0) and returns its folder, to be named by $UGCSR_CUDA_PATH
// (for a child process: the stub is loaded for good). It skips t where the dynamic loader finds a
// real driver, which is then used instead, or where gcc is missing.
func TestCUDAStub(t testing.TB, devices int) string {
	t.Helper()
	if GPUPresent() || dlopenGlobal(cudaDriver) == nil {
		t.Skip("a CUDA driver is installed: the stub would not be used")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc to build the CUDA driver stub")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "cudastub.c")
	if err := os.WriteFile(src, []byte(cudaStub), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gcc, "-shared", "-fPIC", "-DDEVICES="+strconv.Itoa(devices), "-Wl,-soname,"+cudaDriver,
		"-o", filepath.Join(dir, cudaDriver), src).CombinedOutput()
	if err != nil {
		t.Fatalf("build the CUDA driver stub: %v\n%s", err, out)
	}
	return dir
}
