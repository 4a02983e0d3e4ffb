package ort

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLibraryPath(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	cached := filepath.Join(cache, "ort", LibName)
	flagLib := filepath.Join(dir, "flag.so")
	envLib := filepath.Join(dir, "env.so")
	for _, p := range []string{cached, flagLib, envLib} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.so")

	for _, c := range []struct {
		name, explicit, env, cache string
		want                       string // "" means an error
		inErr                      []string
	}{
		{name: "flag wins", explicit: flagLib, env: envLib, cache: cache, want: flagLib},
		{name: "env next", env: envLib, cache: cache, want: envLib},
		{name: "cache last", cache: cache, want: cached},
		{name: "flag missing", explicit: missing, env: envLib, cache: cache,
			inErr: []string{"path=" + missing + " (missing)", "$UGCSR_ORT_LIB=" + envLib + " (not tried)"}},
		{name: "env missing", env: missing, cache: cache,
			inErr: []string{"path (unset)", "$UGCSR_ORT_LIB=" + missing + " (missing)"}},
		{name: "none", cache: filepath.Join(dir, "empty"),
			inErr: []string{"path (unset)", "$UGCSR_ORT_LIB (unset)", "cache=" + filepath.Join(dir, "empty", "ort", LibName) + " (missing)"}},
		{name: "no cache", inErr: []string{"path (unset)", "$UGCSR_ORT_LIB (unset)", "cache (unset)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvLib, c.env)
			got, err := LibraryPath(c.explicit, c.cache)
			if c.want != "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			if !errors.Is(err, ErrLibraryNotFound) {
				t.Fatalf("got %q, %v; want ErrLibraryNotFound", got, err)
			}
			for _, s := range c.inErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestParseDevice(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Device
	}{{"", DeviceAuto}, {"auto", DeviceAuto}, {"cpu", DeviceCPU}, {"cuda", DeviceCUDA}, {"tensorrt", DeviceTensorRT}} {
		d, err := ParseDevice(c.in)
		if err != nil || d != c.want {
			t.Errorf("ParseDevice(%q) = %v, %v", c.in, d, err)
		}
		if c.in != "" && d.String() != c.in {
			t.Errorf("%v.String() = %q", d, d.String())
		}
	}
	if _, err := ParseDevice("vulkan"); err == nil {
		t.Error("ParseDevice(vulkan) succeeded")
	}
}
