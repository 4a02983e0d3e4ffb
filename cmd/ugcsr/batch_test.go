package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestBatch: every clip of a directory is upscaled; a broken one does not stop the others and is
// listed at the end with a non-zero exit; a rerun skips the finished outputs; --plans writes one
// plan per clip instead.
func TestBatch(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	clip := mediatest.Clip(t, "02_cups")
	mediatest.FFmpeg(t, "-i", clip, "-t", "0.5", "-vf", "scale=96:54", "-c:a", "copy", filepath.Join(in, "a.mp4"))
	mediatest.FFmpeg(t, "-i", clip, "-t", "0.5", "-vf", "scale=96:54", "-c:a", "copy", filepath.Join(in, "c.mov"))
	if err := os.WriteFile(filepath.Join(in, "b.mp4"), []byte("not a video"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := ugcsr(t, nil, "batch", "-i", in, "-o", out, "--model", "lanczos")
	if code != 1 || !strings.Contains(stderr, "failed: b.mp4") || !strings.Contains(stderr, "2 done, 0 skipped, 1 failed of 3 clips") {
		t.Fatalf("exit %d, want 1 with b.mp4 listed as failed:\n%s", code, stderr)
	}
	for _, name := range []string{"a.mp4", "c.mov"} {
		if f := mediatest.VideoFrames(t, filepath.Join(out, name)); len(f) != 15 {
			t.Fatalf("%s: %d frames, want 15", name, len(f))
		}
	}
	_, stderr, code = ugcsr(t, nil, "batch", "-i", in, "-o", out, "--model", "lanczos")
	if code != 1 || !strings.Contains(stderr, "0 done, 2 skipped, 1 failed") {
		t.Fatalf("rerun: exit %d, want the two finished outputs skipped:\n%s", code, stderr)
	}

	plans := t.TempDir()
	_, stderr, _ = ugcsr(t, nil, "batch", "-i", in, "-o", plans, "--model", "lanczos", "--plans")
	for _, name := range []string{"a.plan.json", "c.plan.json"} {
		if _, err := os.Stat(filepath.Join(plans, name)); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
	}
}
