package ort

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
