package ort

import (
	"fmt"
	"os"
	"path/filepath"
)

// The GPU build: where it lives and when it is chosen.

const (
	// GPUDir is the folder under the cache that holds the GPU build: a core that can load execution
	// providers (npm onnxruntime-node@1.29.0) with the provider libraries of the same ONNX Runtime
	// release beside it (npm com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9). ONNX Runtime loads
	// providers from the core's own folder, so they must share one.
	GPUDir = "ort-gpu"
)

// ErrGPUBuildNotFound is returned by LibraryFor when cuda or tensorrt is asked for, no library is
// named explicitly and the cache has no GPU build. It wraps ErrLibraryNotFound.
var ErrGPUBuildNotFound = fmt.Errorf("%w: no GPU build", ErrLibraryNotFound)

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

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
