package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// missingPiece matches what a device error must name: a library by file name, or no device.
var missingPiece = regexp.MustCompile(`lib[A-Za-z_]+\.so[.0-9]*|no CUDA device`)

// needGPUBuild skips t (fails it under $UGCSR_REQUIRE_ORT=1) unless setup --gpu laid out the GPU
// build, and returns a one-frame input.
func needGPUBuild(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(appcache.Dir(), ort.GPUDir, ort.LibName)); err != nil {
		ort.TestSkip(t, "GPU build not installed (scripts/setup.sh --gpu): %v", err)
	}
	if _, err := ort.LibraryPath("", appcache.Dir()); err != nil {
		ort.TestSkip(t, "%v", err)
	}
	in := filepath.Join(t.TempDir(), "in.png")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=32x32", "-frames:v", "1", in)
	return in
}

func stderrLines(s string) []string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestDeviceCUDA: with the GPU build present, --device cuda on a machine without a GPU ends with
// exactly one line naming the missing CUDA library or "no CUDA device", exit 1 and no output;
// where a GPU shows, it works.
func TestDeviceCUDA(t *testing.T) {
	in := needGPUBuild(t)
	check := func(t *testing.T, env []string, want *regexp.Regexp) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out.png")
		_, stderr, code := ugcsrEnv(t, env, "-i", in, "--device", "cuda", out)
		if ort.GPUPresent() && len(env) == 0 {
			if code != 0 {
				t.Fatalf("a GPU is present but --device cuda failed: exit %d\n%s", code, stderr)
			}
			return
		}
		lines := stderrLines(stderr)
		if code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "ugcsr: ") ||
			!strings.Contains(lines[0], "device unavailable: cuda: ") || !want.MatchString(lines[0]) {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line matching %q", code, stderr, want)
		}
		if strings.Contains(stderr, "not enabled in this build") || strings.Contains(stderr, "Failed to load shared library") {
			t.Errorf("stderr %q does not name what is missing", stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("output written")
		}
		t.Log(lines[0])
	}
	t.Run("machine", func(t *testing.T) { check(t, nil, missingPiece) })
	t.Run("stub driver", func(t *testing.T) {
		stub := ort.TestCUDAStub(t, 1)
		check(t, []string{ort.EnvCUDAPath + "=" + stub}, regexp.MustCompile(`cuda: lib[A-Za-z]+\.so\.[0-9]+ not found`))
	})
	t.Run("stub driver, no device", func(t *testing.T) {
		stub := ort.TestCUDAStub(t, 0)
		check(t, []string{ort.EnvCUDAPath + "=" + stub}, regexp.MustCompile(`cuda: no CUDA device`))
	})
}

// TestDeviceAuto: with the GPU build present and no GPU, --device auto falls back to the CPU with
// one log line saying why, and writes the output.
func TestDeviceAuto(t *testing.T) {
	in := needGPUBuild(t)
	if ort.GPUPresent() {
		t.Skip("a GPU is present: auto has nothing to fall back from")
	}
	out := filepath.Join(t.TempDir(), "out.png")
	_, stderr, code := ugcsr(t, nil, "-i", in, "--device", "auto", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var fallback []string
	lines := stderrLines(stderr)
	for _, l := range lines {
		if strings.Contains(l, "running on the CPU") {
			fallback = append(fallback, l)
		}
	}
	if len(fallback) != 1 || len(lines) != 2 || !missingPiece.MatchString(fallback[0]) {
		t.Errorf("stderr %q; want one fallback line naming what is missing, and the summary", stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
	t.Log(fallback)
}

// TestProbeDevices: probe --devices says cpu works and, for cuda and tensorrt that do not here,
// the missing piece by name; the GPU build they were tried with is 1.29.0.
func TestProbeDevices(t *testing.T) {
	needGPUBuild(t)
	stdout, stderr, code := ugcsr(t, nil, "probe", "--devices")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	find := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		t.Fatalf("no %q line in\n%s", prefix, stdout)
		return ""
	}
	if l := find("cpu:"); !strings.Contains(l, " ok ") || !strings.Contains(l, "ONNX Runtime 1.30.0") {
		t.Errorf("cpu: %q; want ok with the CPU build", l)
	}
	for _, dev := range []string{"cuda:", "tensorrt:"} {
		l := find(dev)
		switch {
		case ort.GPUPresent() && dev == "cuda:":
			if !strings.Contains(l, " ok ") || !strings.Contains(l, "ONNX Runtime 1.29.0") {
				t.Errorf("%q; want cuda ok with the GPU build", l)
			}
		case strings.Contains(l, " ok "):
			if !ort.GPUPresent() {
				t.Errorf("%q without a GPU", l)
			}
		case !missingPiece.MatchString(l):
			t.Errorf("%q does not name what is missing", l)
		}
	}
	if !strings.Contains(stdout, "(tried with ONNX Runtime 1.29.0, "+filepath.Join(appcache.Dir(), ort.GPUDir, ort.LibName)+")") && !ort.GPUPresent() {
		t.Errorf("cuda and tensorrt not tried with the GPU build:\n%s", stdout)
	}
	if !strings.Contains(stdout, "CUDA libraries: looked for in ") {
		t.Errorf("no search order:\n%s", stdout)
	}
	t.Log("\n" + stdout)
}

// TestDeviceHints: the CLI says how to get the GPU build when it is missing, and refuses a core
// and providers of different releases.
func TestDeviceHints(t *testing.T) {
	in := needGPUBuild(t)
	cpuLib, _ := ort.LibraryPath("", appcache.Dir())
	gpuDir := filepath.Join(appcache.Dir(), ort.GPUDir)
	dir := t.TempDir()
	cache, mixed := filepath.Join(dir, "cache"), filepath.Join(dir, "mixed")
	links := map[string]string{
		filepath.Join(cache, "ort", ort.LibName): cpuLib,
		filepath.Join(mixed, ort.LibName):        cpuLib,
	}
	for _, p := range []string{"libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so"} {
		links[filepath.Join(mixed, p)] = filepath.Join(gpuDir, p)
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out.png")
	_, stderr, code := ugcsrEnv(t, []string{"UGCSR_CACHE=" + cache}, "-i", in, "--device", "cuda", out)
	if lines := stderrLines(stderr); code != 1 || len(lines) != 1 || !strings.Contains(stderr, "no GPU build") || !strings.HasSuffix(lines[0], "(run scripts/setup.sh --gpu or pass --ort-lib)") {
		t.Errorf("no GPU build: exit %d, %q", code, stderr)
	}
	_, stderr, code = ugcsr(t, nil, "-i", in, "--device", "cuda", "--ort-lib", filepath.Join(mixed, ort.LibName), out)
	if code != 1 || !strings.Contains(stderr, "core and provider versions differ") || !strings.Contains(stderr, "is ONNX Runtime 1.30.0, libonnxruntime_providers_cuda.so beside it is 1.29.0 (run scripts/setup.sh --gpu)") {
		t.Errorf("1.30.0 core with 1.29.0 providers: exit %d, %q", code, stderr)
	}
}
