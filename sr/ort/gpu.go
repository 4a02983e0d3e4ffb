package ort

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The GPU build: where it lives, when it is chosen, and what a GPU device needs from the machine.

const (
	// GPUDir is the folder under the cache that holds the GPU build: a core that can load execution
	// providers (npm onnxruntime-node@1.29.0) with the provider libraries of the same ONNX Runtime
	// release beside it (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9). ONNX Runtime loads
	// providers from the core's own folder, so they must share one.
	GPUDir = "ort-gpu"

	// EnvCUDAPath names the variable that lists folders (colon-separated) searched first for the
	// CUDA and cuDNN libraries (see CUDASearchDirs).
	EnvCUDAPath = "UGCSR_CUDA_PATH"

	providersShared  = "libonnxruntime_providers_shared.so"
	providerCUDA     = "libonnxruntime_providers_cuda.so"
	providerTensorRT = "libonnxruntime_providers_tensorrt.so"
	cudaDriver       = "libcuda.so.1"
	cudnn            = "libcudnn.so.9" // loaded by the CUDA provider at run time, not a DT_NEEDED entry
)

// ErrGPUBuildNotFound is returned by LibraryFor when cuda or tensorrt is asked for, no library is
// named explicitly and the cache has no GPU build. It wraps ErrLibraryNotFound.
var ErrGPUBuildNotFound = fmt.Errorf("%w: no GPU build", ErrLibraryNotFound)

// ErrVersionMismatch is returned by Load when a provider library beside the core was built for
// another ONNX Runtime release than the core: the provider bridge is a C++ interface without a
// version check, so such a pair is refused before anything is initialized.
var ErrVersionMismatch = errors.New("onnxruntime: core and provider versions differ")

// LibraryFor resolves the ONNX Runtime library for device dev. An explicit path, then
// $UGCSR_ORT_LIB, wins as in LibraryPath. Otherwise the cache decides:
//   - cuda and tensorrt use the GPU build, <cacheDir>/ort-gpu/libonnxruntime.so.1; without it the
//     error wraps ErrGPUBuildNotFound;
//   - auto uses the GPU build when it exists and GPUPresent reports an NVIDIA GPU, else the CPU
//     build, <cacheDir>/ort/libonnxruntime.so.1 (auto then falls back to the CPU with one log line);
//   - cpu uses the CPU build.
//
// A process holds one ONNX Runtime, so this choice is made once, before the first Load.
func LibraryFor(explicit, cacheDir string, dev Device) (string, error) {
	return libraryFor(explicit, cacheDir, dev, GPUPresent)
}

func libraryFor(explicit, cacheDir string, dev Device, gpuPresent func() bool) (string, error) {
	if explicit != "" || os.Getenv(EnvLib) != "" || cacheDir == "" {
		return LibraryPath(explicit, cacheDir)
	}
	gpuLib := filepath.Join(cacheDir, GPUDir, LibName)
	switch dev {
	case DeviceCUDA, DeviceTensorRT:
		if isFile(gpuLib) {
			return gpuLib, nil
		}
		return "", fmt.Errorf("%w (%v needs %s)", ErrGPUBuildNotFound, dev, gpuLib)
	case DeviceAuto:
		if isFile(gpuLib) && gpuPresent() {
			return gpuLib, nil
		}
	}
	return LibraryPath(explicit, cacheDir)
}

// GPUPresent reports whether the machine shows this process an NVIDIA GPU: an entry under
// /proc/driver/nvidia/gpus or a /dev/nvidiaN device node. It loads nothing.
func GPUPresent() bool {
	for _, pattern := range []string{"/proc/driver/nvidia/gpus/*", "/dev/nvidia[0-9]*"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return true
		}
	}
	return false
}

// CUDASearchDirs returns the existing folders searched, in this order, for the CUDA 13 and cuDNN 9
// libraries of a GPU provider:
//  1. $UGCSR_CUDA_PATH, colon-separated folders;
//  2. the system CUDA: $CUDA_HOME/lib64, $CUDA_PATH/lib64, /usr/local/cuda/lib64, then
//     /usr/local/cuda-*/lib64, newest first;
//  3. the system library folders: /usr/lib/x86_64-linux-gnu, /lib/x86_64-linux-gnu, /usr/lib64,
//     /usr/local/nvidia/lib64 (NVIDIA's container runtime), /usr/lib/wsl/lib (WSL), then those
//     listed in /etc/ld.so.conf.d/*.conf;
//  4. the nvidia-* Python packages of a PyTorch install: <prefix>/lib/python3.*/{site,dist}-packages/
//     nvidia/*/lib for the prefixes $VIRTUAL_ENV, $CONDA_PREFIX, ~/.local, /usr/local, /usr and
//     /opt/conda, newest Python first.
//
// A library in none of them is then asked of the dynamic loader by file name ($LD_LIBRARY_PATH,
// /etc/ld.so.cache). The driver, libcuda.so.1, is asked of the loader first, then looked for here.
func CUDASearchDirs() []string {
	var dirs []string
	add := func(ds ...string) {
		for _, d := range ds {
			if d == "" || !filepath.IsAbs(d) {
				continue
			}
			d = filepath.Clean(d)
			if st, err := os.Stat(d); err == nil && st.IsDir() && !contains(dirs, d) {
				dirs = append(dirs, d)
			}
		}
	}
	add(filepath.SplitList(os.Getenv(EnvCUDAPath))...)
	for _, env := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if v := os.Getenv(env); v != "" {
			add(filepath.Join(v, "lib64"))
		}
	}
	add("/usr/local/cuda/lib64")
	add(newestFirst(globDirs("/usr/local/cuda-*/lib64"))...)
	add("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib")
	add(ldConfDirs("/etc/ld.so.conf.d")...)
	userBase := ""
	if home, err := os.UserHomeDir(); err == nil {
		userBase = filepath.Join(home, ".local")
	}
	for _, prefix := range []string{os.Getenv("VIRTUAL_ENV"), os.Getenv("CONDA_PREFIX"), userBase, "/usr/local", "/usr", "/opt/conda"} {
		if prefix == "" {
			continue
		}
		pythons := newestFirst(globDirs(filepath.Join(prefix, "lib", "python3.*")))
		for _, py := range pythons {
			for _, pk := range []string{"site-packages", "dist-packages"} {
				add(globDirs(filepath.Join(py, pk, "nvidia", "*", "lib"))...)
			}
		}
	}
	return dirs
}

func globDirs(pattern string) []string {
	m, _ := filepath.Glob(pattern)
	sort.Strings(m)
	return m
}

// newestFirst orders paths by the version numbers in their last element ("cuda-13.1", "python3.12"),
// highest first.
func newestFirst(paths []string) []string {
	key := func(p string) []int {
		var v []int
		for _, f := range strings.FieldsFunc(filepath.Base(p), func(r rune) bool { return r < '0' || r > '9' }) {
			n, _ := strconv.Atoi(f)
			v = append(v, n)
		}
		return v
	}
	sort.SliceStable(paths, func(i, j int) bool {
		a, b := key(paths[i]), key(paths[j])
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return paths
}

// ldConfDirs returns the folders named in dir's *.conf files (the dynamic loader's configuration).
func ldConfDirs(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "*.conf"))
	sort.Strings(files)
	var dirs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if line = strings.TrimSpace(line); strings.HasPrefix(line, "/") {
				dirs = append(dirs, line)
			}
		}
	}
	return dirs
}

// findLib returns the first dirs/name that is a file, or "".
func findLib(name string, dirs []string) string {
	for _, d := range dirs {
		if p := filepath.Join(d, name); isFile(p) {
			return p
		}
	}
	return ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// MissingError says what a GPU device lacks on this machine; NewSession returns it wrapped in an
// error that Is ErrDeviceUnavailable.
type MissingError struct {
	// Reason is the first problem, in words: "no NVIDIA driver (libcuda.so.1 not found)", "no CUDA
	// device", "libcublasLt.so.13 not found", "libonnxruntime_providers_cuda.so not found beside ...".
	// Machine problems (driver, device) come before missing files.
	Reason string
	// Missing lists the library files that were not found or would not load, by file name, in the
	// order they were checked: the driver, the provider libraries, then the CUDA libraries in the
	// provider's DT_NEEDED order and cuDNN.
	Missing []string
}

func (e *MissingError) Error() string {
	var also []string
	for _, m := range e.Missing {
		if !strings.Contains(e.Reason, m) {
			also = append(also, m)
		}
	}
	if len(also) == 0 {
		return e.Reason
	}
	return e.Reason + "; also missing " + strings.Join(also, ", ")
}

// machine is what checkDevice asks of the system; tests replace it.
type machine struct {
	dirs    []string                         // CUDASearchDirs
	open    func(path string) error          // dlopenGlobal; a bare file name asks the dynamic loader
	devices func(driver string) (int, error) // cudaDevices
	needed  func(path string) ([]string, error)
}

func realMachine() machine {
	return machine{dirs: CUDASearchDirs(), open: dlopenGlobal, devices: cudaDevices, needed: neededLibs}
}

// neededLibs returns the DT_NEEDED entries of the ELF file at path.
func neededLibs(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ImportedLibraries()
}

// isCUDALib tells the CUDA, cuDNN and TensorRT libraries among a provider's dependencies from the
// C and C++ runtime's.
func isCUDALib(name string) bool {
	return strings.HasPrefix(name, "libcu") || strings.HasPrefix(name, "libnv")
}

// checkDevice checks, without ONNX Runtime, that dev (cuda or tensorrt) can run on device id with
// the core library at core: the NVIDIA driver and a device, the provider libraries beside the core,
// and the CUDA libraries those need, each looked up in m.dirs and loaded by absolute path
// (RTLD_GLOBAL) so that the provider's own loading finds them. It returns nil or a *MissingError.
// Libraries are only loaded when the driver and device are there; otherwise they are only looked
// up, to be listed.
func checkDevice(m machine, core string, dev Device, id int) error {
	e := &MissingError{}
	miss := func(name, reason string) {
		e.Missing = append(e.Missing, name)
		if e.Reason == "" {
			e.Reason = reason
		}
	}

	// The driver and a device.
	driver := ""
	if m.open(cudaDriver) == nil {
		driver = cudaDriver
	} else if p := findLib(cudaDriver, m.dirs); p != "" {
		if err := m.open(p); err != nil {
			miss(cudaDriver, fmt.Sprintf("no NVIDIA driver (%s: %v)", cudaDriver, err))
		} else {
			driver = p
		}
	} else {
		miss(cudaDriver, "no NVIDIA driver ("+cudaDriver+" not found)")
	}
	if driver != "" {
		switch n, err := m.devices(driver); {
		case err != nil:
			e.Reason = "no CUDA device (cuInit: " + err.Error() + ")"
		case n == 0:
			e.Reason = "no CUDA device"
		case id >= n:
			e.Reason = fmt.Sprintf("no CUDA device %d (%d found)", id, n)
		}
	}
	usable := e.Reason == ""

	// The provider libraries beside the core, and the CUDA libraries they need.
	providers := []string{providerCUDA, providersShared}
	if dev == DeviceTensorRT {
		providers = []string{providerTensorRT, providerCUDA, providersShared}
	}
	var libs []string
	for _, p := range providers {
		path := filepath.Join(filepath.Dir(core), p)
		if !isFile(path) {
			miss(p, p+" not found beside "+core)
			continue
		}
		if p == providersShared {
			continue
		}
		need, err := m.needed(path)
		if err != nil {
			miss(p, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		for _, n := range need {
			if isCUDALib(n) && n != cudaDriver && !contains(libs, n) {
				libs = append(libs, n)
			}
		}
	}
	if !contains(libs, cudnn) {
		libs = append(libs, cudnn)
	}

	paths := map[string]string{}
	for _, n := range libs {
		paths[n] = findLib(n, m.dirs)
	}
	if !usable {
		for _, n := range libs {
			if paths[n] == "" {
				miss(n, n+" not found")
			}
		}
		return e
	}
	// Load in rounds: a library whose dependencies are not loaded yet may load in the next one.
	errs := map[string]error{}
	pending := libs
	for len(pending) > 0 {
		var next []string
		for _, n := range pending {
			p := paths[n]
			if p == "" {
				p = n // the dynamic loader's own search
			}
			if err := m.open(p); err != nil {
				errs[n] = err
				next = append(next, n)
			}
		}
		if len(next) == len(pending) {
			break
		}
		pending = next
	}
	for _, n := range libs {
		if !contains(pending, n) {
			continue
		}
		if paths[n] == "" {
			miss(n, n+" not found")
		} else {
			miss(n, fmt.Sprintf("%s: %v", paths[n], errs[n]))
		}
	}
	if e.Reason != "" {
		return e
	}
	// cuDNN 9 loads its sub-libraries by file name at run time: load those beside it too. They are
	// optional (each serves some kernels), so a failure here is not an error.
	if p := paths[cudnn]; p != "" {
		subs, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "libcudnn_*.so.9"))
		for _, s := range subs {
			_ = m.open(s)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// deviceReady runs checkDevice once per process for dev and id against the loaded library.
func deviceReady(dev Device, id int) error {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.path == "" {
		return fmt.Errorf("library not loaded")
	}
	key := fmt.Sprint(dev, "/", id)
	if err, ok := lib.ready[key]; ok {
		return err
	}
	err := checkDevice(realMachine(), lib.path, dev, id)
	if lib.ready == nil {
		lib.ready = map[string]error{}
	}
	lib.ready[key] = err
	return err
}

// checkPairing refuses a core whose provider libraries (beside it) belong to another ONNX Runtime
// release. A folder without providers (the CPU build) passes without being opened.
func checkPairing(core string) error {
	var provs []string
	for _, p := range []string{providerCUDA, providerTensorRT} {
		if path := filepath.Join(filepath.Dir(core), p); isFile(path) {
			provs = append(provs, path)
		}
	}
	if len(provs) == 0 {
		return nil
	}
	v, err := coreVersion(core)
	if err != nil {
		return fmt.Errorf("onnxruntime: load %s: %w", core, err)
	}
	for _, p := range provs {
		pv, err := providerVersion(p, v)
		if err != nil {
			return fmt.Errorf("onnxruntime: %w", err)
		}
		if pv != v {
			return fmt.Errorf("%w: %s is ONNX Runtime %s, %s beside it is %s", ErrVersionMismatch, core, v, filepath.Base(p), pv)
		}
	}
	return nil
}

// providerVersion returns want if the provider library at path carries want as its ONNX Runtime
// version (the release string every provider embeds in .rodata), else the version-like strings it
// does carry ("unknown" if none).
func providerVersion(path, want string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := f.Section(".rodata")
	if s == nil {
		return "", fmt.Errorf("%s: no .rodata section", path)
	}
	b, err := s.Data()
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if want != "" && bytes.Contains(b, []byte("\x00"+want+"\x00")) {
		return want, nil
	}
	var found []string
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("\x001."))
		if j < 0 {
			break
		}
		start := i + j + 1
		end := bytes.IndexByte(b[start:], 0)
		if end < 0 {
			break
		}
		if c := string(b[start : start+end]); isVersion(c) && !contains(found, c) {
			found = append(found, c)
		}
		i = start
	}
	if len(found) == 0 {
		return "unknown", nil
	}
	return strings.Join(found, " or "), nil
}

// isVersion reports whether s is MAJOR.MINOR.PATCH in decimal digits.
func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 4 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
