package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

var updateRegress = flag.Bool("update", false, "rewrite testdata/regress from the current outputs")

// TestOutputUnchanged pins what lossless jobs on the shared clips produce: every packet of every
// output stream (ffmpeg -c copy -f framemd5: the FFV1 and PNG bitstreams and the copied audio) must
// equal the hashes recorded in testdata/regress, so a refactoring that changes a single bit of a
// frame, a timestamp or an audio packet fails here. The Matroska file itself is not compared byte
// for byte: its muxer writes a random segment UID. Rerun with -update to record new hashes after
// an intended change.
//
// A job through ONNX Runtime's float kernels is pinned on everything but its video pixels: MLAS
// picks kernels by CPU (AVX2, AVX-512, AMX...), and their float sums differ in the last bits, which
// move a few 8-bit samples (the x4fast case recorded on an AMD EPYC differs in one frame on an Intel
// Xeon). For it the video packets' hashes and sizes are left out; its pixels are the golden tests'.
func TestOutputUnchanged(t *testing.T) {
	root := mediatest.RepoRoot(t)
	for _, c := range []struct {
		name        string
		args        []string
		out         string
		floatPixels bool // video pixels from float kernels that differ by CPU
	}{
		{"lanczos-x2-ffv1", []string{"-i", mediatest.Clip(t, "01_dog"), "-frames:v", "30", "--model", "lanczos", "-s", "2", "-c:v", "ffv1"}, "out.mkv", false},
		{"bicubic-x1.5-png", []string{"-i", mediatest.Clip(t, "03_blocks"), "-ss", "2", "-frames:v", "1", "--model", "bicubic", "-s", "1.5"}, "out.png", false},
		{"x4fast-x2-ffv1", []string{"-i", mediatest.Clip(t, "02_cups"), "-frames:v", "2", "--model", "realesrgan-x4fast", "--precision", "fp32", "--device", "cpu", "-s", "2", "-c:v", "ffv1"}, "out.mkv", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), c.out)
			mustRun(t, append(c.args, out)...)
			cmd := exec.Command(mediatest.Tool(t, "ffmpeg"), "-v", "error", "-i", out, "-map", "0", "-c", "copy", "-f", "framemd5", "-")
			b, err := cmd.Output()
			if err != nil {
				t.Fatalf("ffmpeg framemd5: %v", err)
			}
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(l, "#software") {
					lines = append(lines, l)
				}
			}
			got := strings.Join(lines, "\n")
			golden := filepath.Join(root, "testdata", "regress", c.name+".framemd5")
			if *updateRegress {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (record it with -update)", err)
			}
			if c.floatPixels {
				got, want = videoUnhashed(got), []byte(videoUnhashed(string(want)))
			}
			if got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := 0; i < len(gl) || i < len(wl); i++ {
					if i >= len(gl) || i >= len(wl) || gl[i] != wl[i] {
						t.Fatalf("%s differs from %s at line %d:\n got  %q\n want %q", c.out, golden, i+1, at(gl, i), at(wl, i))
					}
				}
			}
		})
	}
}

// videoUnhashed drops the size and hash of stream 0's packets from framemd5 lines
// ("stream, dts, pts, duration, size, hash").
func videoUnhashed(framemd5 string) string {
	lines := strings.Split(framemd5, "\n")
	for i, l := range lines {
		f := strings.Split(l, ",")
		if len(f) == 6 && strings.TrimSpace(f[0]) == "0" {
			lines[i] = strings.Join(f[:4], ",")
		}
	}
	return strings.Join(lines, "\n")
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(end)"
}
