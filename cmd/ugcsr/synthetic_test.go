package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestModelsSynthetic: "models synthetic" writes the reduced bundle and prints each graph's counts
// from the graph and in closed form (equal), refuses a directory that is not empty and a bad
// type; "bench diffusion" opens the bundle and times a tile.
func TestModelsSynthetic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "syn")
	out, stderr, code := ugcsr(t, nil, "models", "synthetic", "--reduced", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && strings.HasSuffix(f[0], ".onnx") {
			rows++
			if f[1] != f[2] || f[3] != f[4] {
				t.Errorf("graph and closed form differ: %s", line)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d graph rows, want 4:\n%s", rows, out)
	}
	if _, stderr, code := ugcsr(t, nil, "models", "synthetic", "--reduced", dir); code != 1 || !strings.Contains(stderr, "is not empty") {
		t.Errorf("second write: exit %d, %q", code, stderr)
	}
	if _, stderr, code := ugcsr(t, nil, "models", "synthetic", "--weights", "fp8", filepath.Join(t.TempDir(), "x")); code != 2 || !strings.Contains(stderr, "--weights") {
		t.Errorf("--weights fp8: exit %d, %q", code, stderr)
	}
	out, stderr, code = ugcsr(t, nil, "bench", "diffusion", "--model", "diffusion:"+dir, "--device", "cpu", "--tile", "8", "--steps", "1", "--guidance", "1", "--no-matmul")
	if code != 0 || !strings.Contains(out, "tile 8x8 latent (64x64 px): ") || !strings.Contains(out, "s per step") || !strings.Contains(out, "batch 1") {
		t.Errorf("bench: exit %d\n%s\n%s", code, out, stderr)
	}
}
