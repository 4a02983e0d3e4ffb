package quality_test

import (
	"errors"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/quality"
)

// textured returns a w x h frame of seeded noise over gradients.
func textured(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := frame.New(w, h)
	for c := range 3 {
		p := f.Plane(c)
		for y := range h {
			for x := range w {
				p[y*w+x] = float32(min(1, max(0, float64(x+y*c)/float64(w+h*c+1)*0.7+0.3*r.Float64())))
			}
		}
	}
	return f
}

// TestSSIMMatchesFFmpeg compares Seq.SSIM with FFmpeg's ssim filter on the same two 8-bit images
// (PNG, so FFmpeg reads them as gbrp without loss), frame sizes not multiples of 8 included.
func TestSSIMMatchesFFmpeg(t *testing.T) {
	ffmpeg := mediatest.Tool(t, "ffmpeg")
	re := regexp.MustCompile(`SSIM R:([0-9.]+) .*G:([0-9.]+) .*B:([0-9.]+) .*All:([0-9.]+)`)
	for _, size := range [][2]int{{64, 48}, {70, 37}} {
		a := textured(size[0], size[1], 1)
		b := textured(size[0], size[1], 2)
		for i := range b.Pix { // b: a plus some of another image, so SSIM is neither 0 nor 1
			b.Pix[i] = 0.7*a.Pix[i] + 0.3*b.Pix[i]
		}
		dir := t.TempDir()
		pa, pb := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")
		writePNG(t, pa, a)
		writePNG(t, pb, b)
		out, err := exec.Command(ffmpeg, "-nostdin", "-i", pb, "-i", pa, "-lavfi", "ssim", "-f", "null", "-").CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		m := re.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no SSIM R/G/B line (not read as RGB?) in:\n%s", out)
		}
		want, _ := strconv.ParseFloat(string(m[4]), 64)
		var s quality.Seq
		if err := s.Add(b, a); err != nil {
			t.Fatal(err)
		}
		got := s.SSIM()
		t.Logf("%dx%d: SSIM %.6f, ffmpeg All %.6f", size[0], size[1], got, want)
		if !(math.Abs(got-want) <= 2e-6) {
			t.Errorf("%dx%d: SSIM %.6f, ffmpeg's ssim filter %.6f", size[0], size[1], got, want)
		}
	}
}

func writePNG(t *testing.T, path string, f *frame.Frame) {
	t.Helper()
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := png.Encode(w, f.ToRGBA()); err != nil {
		t.Fatal(err)
	}
}

// gray returns a w x h gray frame whose column x has value col(x)/255.
func gray(w, h int, col func(x int) int) *frame.Frame {
	f := frame.New(w, h)
	for c := range 3 {
		p := f.Plane(c)
		for i := range p {
			p[i] = float32(col(i%w)) / 255
		}
	}
	return f
}

// TestTPSNR: the reference steps by 10 levels, the output by 20: every difference is off by 10
// levels, MSE 100, tPSNR = 10·log10(255²/100) = 28.1308 dB; the first frame pair's error (5
// levels) gives PSNR 10·log10(255²/25) = 34.1514 dB over both frames.
func TestTPSNR(t *testing.T) {
	var s quality.Seq
	for i, v := range [][2]int{{100, 105}, {110, 125}} { // reference, output
		if err := s.Add(gray(16, 16, func(int) int { return v[1] }), gray(16, 16, func(int) int { return v[0] })); err != nil {
			t.Fatal(err)
		}
		if i == 0 && !math.IsNaN(s.TPSNR()) {
			t.Errorf("tPSNR of one frame %v, want NaN", s.TPSNR())
		}
	}
	// PSNR over both frames: errors 5 and 15 levels, MSE (25+225)/2 = 125.
	wantPSNR := 10 * math.Log10(255*255/125.0)
	if got := s.PSNR(); !(math.Abs(got-wantPSNR) < 1e-9) {
		t.Errorf("PSNR %v, want %v", got, wantPSNR)
	}
	if got := s.TPSNR(); !(math.Abs(got-28.1308) < 1e-4) {
		t.Errorf("tPSNR %v, want 28.1308", got)
	}
	if s.Frames() != 2 {
		t.Errorf("frames %d", s.Frames())
	}
}

// TestSharpness: columns alternating 0/200 against an output alternating 50/150 have half the
// gradient everywhere: sharpness 0.5; the reference against itself 1.
func TestSharpness(t *testing.T) {
	ref := gray(32, 16, func(x int) int { return 200 * (x % 2) })
	soft := gray(32, 16, func(x int) int { return 50 + 100*(x%2) })
	var s, self quality.Seq
	if err := s.Add(soft, ref); err != nil {
		t.Fatal(err)
	}
	if err := self.Add(ref, ref); err != nil {
		t.Fatal(err)
	}
	if got := s.Sharpness(); !(math.Abs(got-0.5) < 1e-9) {
		t.Errorf("sharpness %v, want 0.5", got)
	}
	if got := self.Sharpness(); !(got == 1) || !math.IsInf(self.PSNR(), 1) || !(self.SSIM() == 1) {
		t.Errorf("reference against itself: sharpness %v, PSNR %v, SSIM %v", got, self.PSNR(), self.SSIM())
	}
	// One vertical edge (50 | 200 at x = 16); the output adds a ±10 checkerboard on the flat parts
	// away from it: only edges count, so the sharpness stays 1.
	edge := func(x int) int { return 50 + 150*(x/16) }
	ref = gray(32, 16, edge)
	noisy := gray(32, 16, edge)
	for c := range 3 {
		p := noisy.Plane(c)
		for i := range p {
			if x, y := i%32, i/32; x < 13 || x > 18 {
				p[i] += float32(10*(2*((x+y)%2)-1)) / 255
			}
		}
	}
	var e quality.Seq
	if err := e.Add(noisy, ref); err != nil {
		t.Fatal(err)
	}
	if got := e.Sharpness(); !(got == 1) {
		t.Errorf("noise off the edge: sharpness %v, want 1", got)
	}
}

func TestSeqRefuses(t *testing.T) {
	var s quality.Seq
	if err := s.Add(frame.New(8, 8), frame.New(8, 9)); !errors.Is(err, quality.ErrMismatch) {
		t.Errorf("sizes differ: %v", err)
	}
	bad := frame.New(8, 8)
	bad.Pix[3] = float32(math.NaN())
	if err := s.Add(bad, frame.New(8, 8)); !errors.Is(err, quality.ErrMismatch) {
		t.Errorf("NaN: %v", err)
	}
	if err := s.Add(frame.New(8, 8), frame.New(8, 8)); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(frame.New(16, 8), frame.New(16, 8)); !errors.Is(err, quality.ErrMismatch) {
		t.Errorf("size change within a sequence: %v", err)
	}
}

func TestParseSetting(t *testing.T) {
	for _, v := range []string{"lanczos", "1", "0.5", "0.5-linear", "0.25+stabilize", "1-linear+stabilize@0.03"} {
		s, err := quality.ParseSetting(v)
		if err != nil || s.String() != v {
			t.Errorf("%q: %v, %q", v, err, s)
		}
	}
	for _, v := range []string{"", "2", "-0.5", "0.5+stab", "0.5+stabilize@0", "NaN"} {
		if _, err := quality.ParseSetting(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}
