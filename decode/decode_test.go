package decode_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// readAll decodes every frame, returning the count and the first frame.
func readAll(t *testing.T, o decode.Options) (int, *frame.Frame) {
	t.Helper()
	d, err := decode.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var first *frame.Frame
	n := 0
	for {
		f, err := d.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = frame.New(f.W, f.H)
			copy(first.Pix, f.Pix)
			first.CopyMeta(f)
		}
		f.Release()
		n++
	}
	return n, first
}

// TestContainers: every input kind the package promises, from files, patterns and stdin.
func TestContainers(t *testing.T) {
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc2=s=96x64:r=25", "-t", "0.4"}
	gen := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		mediatest.FFmpeg(t, append(append(append([]string{}, src...), args...), p)...)
		return p
	}
	cases := []struct {
		name   string
		opts   decode.Options
		frames int
	}{
		{"mp4", decode.Options{Input: gen("a.mp4", "-c:v", "libx264")}, 10},
		{"mov", decode.Options{Input: gen("a.mov", "-c:v", "libx264")}, 10},
		{"mkv", decode.Options{Input: gen("a.mkv", "-c:v", "libx265", "-x265-params", "log-level=error")}, 10},
		{"webm", decode.Options{Input: gen("a.webm", "-c:v", "libvpx-vp9")}, 10},
		{"y4m", decode.Options{Input: gen("a.y4m")}, 10},
		{"png image", decode.Options{Input: gen("a.png", "-frames:v", "1")}, 1},
		{"png sequence", decode.Options{Input: func() string { gen("seq_%03d.png"); return filepath.Join(dir, "seq_%03d.png") }()}, 10},
		{"10-bit", decode.Options{Input: gen("b.mkv", "-c:v", "libx264", "-pix_fmt", "yuv420p10le")}, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, f := readAll(t, c.opts)
			if n != c.frames {
				t.Fatalf("%d frames, want %d", n, c.frames)
			}
			if f.W != 96 || f.H != 64 {
				t.Fatalf("size %dx%d", f.W, f.H)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		data, err := os.ReadFile(gen("pipe.nut", "-c:v", "ffv1"))
		if err != nil {
			t.Fatal(err)
		}
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := os.Stdin
		os.Stdin = r
		defer func() { os.Stdin = old }()
		go func() { io.Copy(w, bytes.NewReader(data)); w.Close() }()
		// FFmpeg's pipe:0 reads file descriptor 0, so point it at the pipe for this test.
		restore := mediatest.RedirectFD(t, 0, r)
		defer restore()
		if n, _ := readAll(t, decode.Options{Input: "-"}); n != 10 {
			t.Fatalf("%d frames from stdin, want 10", n)
		}
	})
}

// TestColour decodes a flat BT.709 limited-range colour back to its RGB value.
func TestColour(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.mp4")
	// sRGB (200, 100, 50) through BT.709 limited range, with ffmpeg doing the forward conversion.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "color=c=0xC86432:s=64x64", "-frames:v", "1",
		"-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv444p", "-c:v", "libx264", "-qp", "0",
		"-colorspace", "bt709", "-color_range", "tv", p)
	_, f := readAll(t, decode.Options{Input: p})
	got := f.At(32, 32)
	want := [3]int{200, 100, 50}
	for i, g := range []uint8{got.R, got.G, got.B} {
		if d := int(g) - want[i]; d < -2 || d > 2 {
			t.Fatalf("decoded %v, want %v within 2", got, want)
		}
	}
}

// TestStartAndLimits checks -ss, -t and -frames:v.
func TestStartAndLimits(t *testing.T) {
	clip := mediatest.Clip(t, "02_cups")
	// Time base 1/30000, 1001 per frame: the first frame kept is the one at or just after 2 s.
	if n, f := readAll(t, decode.Options{Input: clip, Start: 2e9, Duration: 1e9}); n != 30 || f.PTS < 0 || f.PTS >= 1001 {
		t.Fatalf("-ss 2 -t 1: %d frames, first pts %d; want 30 starting within one frame of 0", n, f.PTS)
	}
	if n, _ := readAll(t, decode.Options{Input: clip, MaxFrames: 7}); n != 7 {
		t.Fatalf("-frames:v 7: %d frames", n)
	}
}
