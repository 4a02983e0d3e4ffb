package ort

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/internal/appcache"
)

func touch(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLibraryFor checks which build each device gets: cuda and tensorrt the GPU build (an error
// without it), auto the GPU build only where a GPU is present, cpu the CPU build; a named library
// always wins.
func TestLibraryFor(t *testing.T) {
	dir := t.TempDir()
	withGPU, cpuOnly := filepath.Join(dir, "with-gpu"), filepath.Join(dir, "cpu-only")
	touch(t, filepath.Join(withGPU, "ort", LibName), filepath.Join(withGPU, GPUDir, LibName), filepath.Join(cpuOnly, "ort", LibName))
	named := filepath.Join(dir, "named.so")
	touch(t, named)
	cpu := func(cache string) string { return filepath.Join(cache, "ort", LibName) }
	gpu := filepath.Join(withGPU, GPUDir, LibName)

	for _, c := range []struct {
		name, explicit, env, cache string
		dev                        Device
		present                    bool
		want                       string // "" means ErrGPUBuildNotFound
	}{
		{name: "cpu", cache: withGPU, dev: DeviceCPU, present: true, want: cpu(withGPU)},
		{name: "cuda", cache: withGPU, dev: DeviceCUDA, want: gpu},
		{name: "tensorrt", cache: withGPU, dev: DeviceTensorRT, want: gpu},
		{name: "cuda without the GPU build", cache: cpuOnly, dev: DeviceCUDA},
		{name: "tensorrt without the GPU build", cache: cpuOnly, dev: DeviceTensorRT},
		{name: "auto with a GPU", cache: withGPU, dev: DeviceAuto, present: true, want: gpu},
		{name: "auto without a GPU", cache: withGPU, dev: DeviceAuto, want: cpu(withGPU)},
		{name: "auto with a GPU, no GPU build", cache: cpuOnly, dev: DeviceAuto, present: true, want: cpu(cpuOnly)},
		{name: "named wins for cuda", explicit: named, cache: withGPU, dev: DeviceCUDA, want: named},
		{name: "env wins for auto", env: named, cache: withGPU, dev: DeviceAuto, present: true, want: named},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvLib, c.env)
			got, err := libraryFor(c.explicit, c.cache, c.dev, func() bool { return c.present })
			if c.want == "" {
				if !errors.Is(err, ErrGPUBuildNotFound) || !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), filepath.Join(c.cache, GPUDir, LibName)) {
					t.Fatalf("got %q, %v; want ErrGPUBuildNotFound naming the GPU build's path", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// TestCUDASearchDirs checks the documented order: $UGCSR_CUDA_PATH, the system CUDA, the system
// library folders, then the nvidia-* Python packages, newest Python first; only existing folders,
// each once.
func TestCUDASearchDirs(t *testing.T) {
	dir := t.TempDir()
	mk := func(p ...string) string {
		d := filepath.Join(append([]string{dir}, p...)...)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a, b := mk("a"), mk("b")
	cudaHome := mk("cuda", "lib64")
	venv39 := mk("venv", "lib", "python3.9", "site-packages", "nvidia", "cublas", "lib")
	venv312 := mk("venv", "lib", "python3.12", "site-packages", "nvidia", "cudnn", "lib")
	conda := mk("conda", "lib", "python3.11", "dist-packages", "nvidia", "cu13", "lib")
	t.Setenv(EnvCUDAPath, a+":"+filepath.Join(dir, "missing")+":"+b+":"+a)
	t.Setenv("CUDA_HOME", filepath.Join(dir, "cuda"))
	t.Setenv("CUDA_PATH", "")
	t.Setenv("VIRTUAL_ENV", filepath.Join(dir, "venv"))
	t.Setenv("CONDA_PREFIX", filepath.Join(dir, "conda"))

	got := CUDASearchDirs()
	var order []string
	for _, d := range got {
		if strings.HasPrefix(d, dir) || d == "/usr/lib/x86_64-linux-gnu" {
			order = append(order, d)
		}
	}
	want := []string{a, b, cudaHome, venv312, venv39, conda}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu"); err == nil {
		want = []string{a, b, cudaHome, "/usr/lib/x86_64-linux-gnu", venv312, venv39, conda}
	}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("search order\n got %q\nwant %q", order, want)
	}
}

// fakeMachine is a machine whose libraries are the files in dirs; open fails for names in broken
// and for files not present, and records what it opened.
type fakeMachine struct {
	dirs    []string
	driver  bool // the loader finds libcuda.so.1
	devices int
	cuErr   error
	broken  map[string]error
	after   map[string]string // name -> a library that must be open before it
	opened  []string
	needed  map[string][]string // provider file name -> DT_NEEDED
}

func (f *fakeMachine) machine() machine {
	return machine{
		dirs: f.dirs,
		open: func(p string) error {
			name := filepath.Base(p)
			switch {
			case p == cudaDriver && f.driver:
			case !filepath.IsAbs(p):
				return fmt.Errorf("%s: cannot open shared object file", p)
			case f.broken[name] != nil:
				return f.broken[name]
			case f.after[name] != "" && !f.isOpen(f.after[name]):
				return fmt.Errorf("%s: cannot open shared object file", f.after[name])
			}
			f.opened = append(f.opened, p)
			return nil
		},
		devices: func(string) (int, error) { return f.devices, f.cuErr },
		needed:  func(p string) ([]string, error) { return f.needed[filepath.Base(p)], nil },
	}
}

func (f *fakeMachine) isOpen(name string) bool {
	for _, p := range f.opened {
		if filepath.Base(p) == name {
			return true
		}
	}
	return false
}

// TestCheckDevice checks what checkDevice reports first and lists, and that it loads the CUDA
// libraries by absolute path from the first folder in the search order.
func TestCheckDevice(t *testing.T) {
	root := t.TempDir()
	gpuCore := filepath.Join(root, "ort-gpu", LibName)
	cpuCore := filepath.Join(root, "ort", LibName)
	touch(t, gpuCore, cpuCore)
	for _, p := range []string{providersShared, providerCUDA, providerTensorRT} {
		touch(t, filepath.Join(root, "ort-gpu", p))
	}
	cudaNeeds := []string{"libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", cudaDriver, "libstdc++.so.6", "libc.so.6"}
	trtNeeds := []string{"libcublas.so.13", "libnvinfer.so.10", "libnvonnxparser.so.10", "libcudart.so.13", cudnn, "libc.so.6"}
	sys, py := filepath.Join(root, "sys"), filepath.Join(root, "py")
	all := []string{"libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", cudnn, "libcudnn_graph.so.9", "libnvinfer.so.10", "libnvonnxparser.so.10"}
	for _, n := range all {
		touch(t, filepath.Join(py, n))
	}
	touch(t, filepath.Join(sys, "libcudart.so.13"))
	drv := filepath.Join(root, "driver")
	touch(t, filepath.Join(drv, cudaDriver))
	noCublasLt := filepath.Join(root, "partial")
	for _, n := range all[1:] {
		touch(t, filepath.Join(noCublasLt, n))
	}

	for _, c := range []struct {
		name   string
		f      fakeMachine
		core   string
		dev    Device
		id     int
		reason string // "" means nil
		miss   []string
		opened []string // base names that must have been opened, in order
	}{
		{name: "works", f: fakeMachine{dirs: []string{sys, py}, driver: true, devices: 1},
			core: gpuCore, dev: DeviceCUDA,
			opened: []string{cudaDriver, "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", cudnn, "libcudnn_graph.so.9"}},
		{name: "dependency order", f: fakeMachine{dirs: []string{py}, driver: true, devices: 1, after: map[string]string{"libcublasLt.so.13": "libcudart.so.13"}},
			core: gpuCore, dev: DeviceCUDA,
			opened: []string{cudaDriver, "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", cudnn, "libcublasLt.so.13", "libcudnn_graph.so.9"}},
		{name: "driver in a search folder", f: fakeMachine{dirs: []string{drv, py}, devices: 1},
			core: gpuCore, dev: DeviceCUDA,
			opened: []string{cudaDriver, "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", cudnn, "libcudnn_graph.so.9"}},
		{name: "no driver", f: fakeMachine{dirs: []string{noCublasLt}},
			core: gpuCore, dev: DeviceCUDA, reason: "no NVIDIA driver (libcuda.so.1 not found)", miss: []string{cudaDriver, "libcublasLt.so.13"}},
		{name: "no device", f: fakeMachine{dirs: []string{py}, driver: true, devices: 0},
			core: gpuCore, dev: DeviceCUDA, reason: "no CUDA device"},
		{name: "cuInit fails", f: fakeMachine{dirs: []string{py}, driver: true, cuErr: errors.New("CUDA_ERROR_NO_DEVICE")},
			core: gpuCore, dev: DeviceCUDA, reason: "no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)"},
		{name: "device id too high", f: fakeMachine{dirs: []string{py}, driver: true, devices: 1},
			core: gpuCore, dev: DeviceCUDA, id: 1, reason: "no CUDA device 1 (1 found)"},
		{name: "first missing library", f: fakeMachine{dirs: []string{noCublasLt}, driver: true, devices: 2},
			core: gpuCore, dev: DeviceCUDA, reason: "libcublasLt.so.13 not found", miss: []string{"libcublasLt.so.13"}},
		{name: "library does not load", f: fakeMachine{dirs: []string{py}, driver: true, devices: 1, broken: map[string]error{"libcurand.so.10": errors.New("wrong ELF class")}},
			core: gpuCore, dev: DeviceCUDA, reason: filepath.Join(py, "libcurand.so.10") + ": wrong ELF class", miss: []string{"libcurand.so.10"}},
		{name: "cpu build", f: fakeMachine{dirs: []string{py}, driver: true, devices: 1},
			core: cpuCore, dev: DeviceCUDA, reason: providerCUDA + " not found beside " + cpuCore, miss: []string{providerCUDA, providersShared}},
		{name: "tensorrt", f: fakeMachine{dirs: []string{noCublasLt}, driver: true, devices: 1},
			core: gpuCore, dev: DeviceTensorRT, reason: "libcublasLt.so.13 not found", miss: []string{"libcublasLt.so.13"}},
		{name: "tensorrt without TensorRT", f: fakeMachine{dirs: []string{sys}, driver: true, devices: 1},
			core: gpuCore, dev: DeviceTensorRT, reason: "libcublas.so.13 not found",
			miss: []string{"libcublas.so.13", "libnvinfer.so.10", "libnvonnxparser.so.10", cudnn, "libcublasLt.so.13", "libcurand.so.10"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.f.needed = map[string][]string{providerCUDA: cudaNeeds, providerTensorRT: trtNeeds}
			err := checkDevice(c.f.machine(), c.core, c.dev, c.id)
			if c.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, p := range c.f.opened {
					names = append(names, filepath.Base(p))
					if p != cudaDriver && !strings.HasPrefix(p, c.f.dirs[0]) && !(len(c.f.dirs) > 1 && strings.HasPrefix(p, c.f.dirs[1])) {
						t.Errorf("opened %s, not by absolute path in the search folders", p)
					}
				}
				if fmt.Sprint(names) != fmt.Sprint(c.opened) {
					t.Errorf("opened %q, want %q", names, c.opened)
				}
				if c.name == "works" && c.f.opened[4] != filepath.Join(sys, "libcudart.so.13") {
					t.Errorf("libcudart.so.13 from %s, want the first folder's", c.f.opened[4])
				}
				return
			}
			var me *MissingError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want a *MissingError", err)
			}
			if me.Reason != c.reason || fmt.Sprint(me.Missing) != fmt.Sprint(c.miss) {
				t.Errorf("got reason %q, missing %q\nwant reason %q, missing %q", me.Reason, me.Missing, c.reason, c.miss)
			}
			if strings.HasPrefix(c.reason, "no ") {
				for _, p := range c.f.opened {
					if filepath.Base(p) != cudaDriver {
						t.Errorf("loaded %s on a machine without a usable device", p)
					}
				}
			}
		})
	}
}

func TestMissingErrorText(t *testing.T) {
	e := &MissingError{Reason: "no NVIDIA driver (libcuda.so.1 not found)", Missing: []string{"libcuda.so.1", "libcublasLt.so.13", "libcudnn.so.9"}}
	if got, want := e.Error(), "no NVIDIA driver (libcuda.so.1 not found); also missing libcublasLt.so.13, libcudnn.so.9"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &MissingError{Reason: "no CUDA device"}
	if got := e.Error(); got != "no CUDA device" {
		t.Errorf("got %q", got)
	}
}

// gpuBuild returns the cached GPU build's core, skipping t (failing it under $UGCSR_REQUIRE_ORT=1)
// when setup --gpu has not laid it out.
func gpuBuild(t *testing.T) string {
	t.Helper()
	p := filepath.Join(appcache.Dir(), GPUDir, LibName)
	for _, f := range []string{LibName, providersShared, providerCUDA, providerTensorRT} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), f)); err != nil {
			TestSkip(t, "GPU build not installed (scripts/setup.sh --gpu): %v", err)
		}
	}
	return p
}

// TestPairing checks that the GPU build's providers carry its core's release and that a core of
// another release beside them is refused before anything is initialized.
func TestPairing(t *testing.T) {
	core := gpuBuild(t)
	for _, p := range []string{providerCUDA, providerTensorRT} {
		v, err := providerVersion(filepath.Join(filepath.Dir(core), p), "1.29.0")
		if err != nil || v != "1.29.0" {
			t.Errorf("%s: version %q, %v; want 1.29.0", p, v, err)
		}
		if v, err := providerVersion(filepath.Join(filepath.Dir(core), p), "1.30.0"); err != nil || v != "1.29.0" {
			t.Errorf("%s asked for 1.30.0: %q, %v; want the 1.29.0 it carries", p, v, err)
		}
	}
	cpu, err := LibraryPath("", appcache.Dir())
	if err != nil {
		TestSkip(t, "%v", err)
	}
	mixed := t.TempDir()
	links := map[string]string{LibName: cpu}
	for _, p := range []string{providersShared, providerCUDA, providerTensorRT} {
		links[p] = filepath.Join(filepath.Dir(core), p)
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(mixed, name)); err != nil {
			t.Fatal(err)
		}
	}
	err = checkPairing(filepath.Join(mixed, LibName))
	if !errors.Is(err, ErrVersionMismatch) || !strings.Contains(err.Error(), "is ONNX Runtime 1.30.0, libonnxruntime_providers_cuda.so beside it is 1.29.0") {
		t.Errorf("1.30.0 core with 1.29.0 providers: %v", err)
	}
	if err := checkPairing(cpu); err != nil {
		t.Errorf("the CPU build alone: %v", err)
	}
}

// envGPUChild names the variable that makes TestGPUBuild's re-run of the test binary the child:
// loading the GPU build is for good, so it happens in a process of its own.
const envGPUChild = "UGCSR_ORT_TEST_GPU_CHILD"

// TestGPUBuild loads the GPU build in child processes and asks for cuda and tensorrt: on a
// machine without a GPU each gives ErrDeviceUnavailable naming what is missing (never ONNX
// Runtime's "not enabled in this build" or a bare "Failed to load shared library"); with a stub
// driver reporting a device, the first missing CUDA library by file name; with a stub reporting
// none, "no CUDA device". Where a GPU is present, cuda must work.
func TestGPUBuild(t *testing.T) {
	if os.Getenv(envGPUChild) != "" {
		t.Skip("child")
	}
	gpuBuild(t)
	child := func(t *testing.T, cudaPath string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestGPUBuildChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), envGPUChild+"=1", EnvCUDAPath+"="+cudaPath)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "gpu_test.go") {
				t.Log(strings.TrimSpace(line))
			}
		}
		return string(out)
	}
	t.Run("machine", func(t *testing.T) {
		out := child(t, "")
		missing := `(no NVIDIA driver \(libcuda\.so\.1|no CUDA device|lib[A-Za-z_]+\.so[.0-9]* not found|/lib[A-Za-z_]+\.so[.0-9]*: )`
		for _, dev := range []string{"cuda", "tensorrt"} {
			want := `gpu_test.go:\d+: ` + dev + `: ` + missing
			switch {
			case GPUPresent() && dev == "cuda":
				want = `gpu_test.go:\d+: cuda: ok`
			case GPUPresent():
				want = `gpu_test.go:\d+: tensorrt: (ok|` + missing + `)` // TensorRT is not known to be on the GPU machines
			}
			if !regexp.MustCompile(want).MatchString(out) {
				t.Errorf("%s: no line naming what is missing in\n%s", dev, out)
			}
		}
	})
	t.Run("stub driver, one device", func(t *testing.T) {
		stub := TestCUDAStub(t, 1)
		if findLib("libcublasLt.so.13", CUDASearchDirs()) != "" {
			t.Skip("CUDA libraries are installed")
		}
		if out := child(t, stub); !strings.Contains(out, "cuda: libcublasLt.so.13 not found") {
			t.Errorf("want the first missing CUDA library named:\n%s", out)
		}
	})
	t.Run("stub driver, no device", func(t *testing.T) {
		stub := TestCUDAStub(t, 0)
		if out := child(t, stub); !strings.Contains(out, "cuda: no CUDA device") {
			t.Errorf("want no CUDA device:\n%s", out)
		}
	})
	t.Run("stub driver, cuInit fails", func(t *testing.T) {
		stub := TestCUDAStub(t, -1)
		if out := child(t, stub); !strings.Contains(out, "cuda: no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)") {
			t.Errorf("want no CUDA device with cuInit's error:\n%s", out)
		}
	})
}

// TestGPUBuildChild is TestGPUBuild's child: it loads the GPU build as --device cuda does and
// tries cuda and tensorrt, logging "DEVICE: ok" or "DEVICE: REASON".
func TestGPUBuildChild(t *testing.T) {
	if os.Getenv(envGPUChild) == "" {
		t.Skip("run by TestGPUBuild")
	}
	rt := Runtime{Device: DeviceCUDA, Threads: 1}
	rt.Init()
	if err := rt.Load(); err != nil {
		t.Fatal(err)
	}
	if v := Version(); v != "1.29.0" || filepath.Base(filepath.Dir(Loaded())) != GPUDir {
		t.Fatalf("loaded %s, ONNX Runtime %s; want the GPU build, 1.29.0", Loaded(), v)
	}
	for _, dev := range []Device{DeviceCUDA, DeviceTensorRT} {
		err := TryDevice(context.Background(), dev)
		if err == nil {
			t.Logf("%v: ok", dev)
			continue
		}
		if !errors.Is(err, ErrDeviceUnavailable) {
			t.Errorf("%v: %v; want ErrDeviceUnavailable", dev, err)
		}
		for _, bad := range []string{"not enabled in this build", "Failed to load shared library"} {
			if strings.Contains(err.Error(), bad) {
				t.Errorf("%v: %q says %q, not what is missing", dev, err, bad)
			}
		}
		var me *MissingError
		if errors.As(err, &me) {
			t.Logf("%v: %s", dev, me)
		} else {
			t.Logf("%v: %v", dev, err)
		}
	}
}
