package main

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestStrengthFlags: --strength and --stabilize on the command line: bad combinations are refused
// (exit 2, nothing written), a job wraps the model in both, and preview --compare shows two
// strengths side by side (strength 0 being Lanczos).
func TestStrengthFlags(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=48x32:r=10", "-frames:v", "3", "-pix_fmt", "yuv420p", in)
	out := filepath.Join(dir, "out.mp4")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--strength", "1.5"}, "--strength 1.5: want 0 to 1"},
		{[]string{"--strength", "-0.1"}, "want 0 to 1"},
		{[]string{"--strength", "0.5", "--model", "lanczos"}, "--model lanczos has none"},
		{[]string{"--stabilize", "--reuse-tiles", "0.02"}, "choose one"},
	} {
		_, stderr, code := ugcsr(t, nil, append(append([]string{"-i", in}, c.args...), out)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, %q (want exit 2 and %q)", c.args, code, stderr, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%q: output written", c.args)
		}
	}
	stderr := mustRun(t, "-i", in, "--device", "cpu", "--strength", "0.5", "--stabilize", out)
	if !strings.Contains(stderr, "with realesrgan-x4fast@0.5+stabilize") {
		t.Errorf("job log does not name the wrapped model: %q", stderr)
	}

	cmp := filepath.Join(dir, "cmp.png")
	mustRun(t, "preview", "-i", in, "--at", "0.1", "--frames", "1", "--device", "cpu", "--strength", "0", "--compare", "--strength 1", "-o", cmp)
	lz := filepath.Join(dir, "lanczos.png")
	mustRun(t, "preview", "-i", in, "--at", "0.1", "--frames", "1", "--model", "lanczos", "-o", lz)
	got, ref := readPNG(t, cmp), readPNG(t, lz)
	if got.W != 192 || got.H != 64 {
		t.Fatalf("compare side by side is %dx%d, want 192x64", got.W, got.H)
	}
	a, b := crop(got, image.Rect(0, 0, 96, 64)), crop(got, image.Rect(96, 0, 192, 64))
	pa, _ := frame.PSNR(a, crop(ref, image.Rect(96, 0, 192, 64)))
	pb, _ := frame.PSNR(a, b)
	t.Logf("strength 0 against Lanczos %.1f dB, against strength 1 %.1f dB", pa, pb)
	if !(pa >= 40) || !(pb <= 35) {
		t.Errorf("strength 0 against Lanczos %.1f dB (want >= 40), against strength 1 %.1f dB (want <= 35)", pa, pb)
	}
}
