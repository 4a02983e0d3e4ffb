package strength_test

import (
	"context"
	"errors"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/classical"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
	"github.com/ugcsr/ugcsr/sr/strength"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
)

// openModel opens the default model (Real-ESRGAN x4fast) on the CPU, skipping without ONNX Runtime
// (failing in CI).
func openModel(t *testing.T) sr.Backend {
	t.Helper()
	ort.TestLoad(t)
	b, err := backends.Open(backends.Default, backends.Options{Runtime: ort.Runtime{Device: ort.DeviceCPU}})
	if errors.Is(err, realesrgan.ErrModelNotFound) {
		ort.TestSkip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// input is a 48x32 crop of the 01_dog golden input (real video, area-scaled).
func input(t *testing.T) *frame.Frame { return inputSize(t, 48, 32) }

func inputSize(t *testing.T, w, h int) *frame.Frame {
	img := mediatest.ReadPNG(t, mediatest.Shared(t, filepath.Join("golden", "01_dog_realesrgan-x4fast_lr.png")))
	full := frame.FromImage(img)
	f := frame.New(w, h)
	x0, y0 := min(60, full.W-w), min(30, full.H-h)
	for c := range 3 {
		for y := range f.H {
			copy(f.Plane(c)[y*f.W:(y+1)*f.W], full.Plane(c)[(y+y0)*full.W+x0:])
		}
	}
	return f
}

// upscale runs b once on src for spec.
func upscale(t *testing.T, b sr.Backend, spec sr.Spec, src *frame.Frame) *frame.Frame {
	t.Helper()
	u, err := b.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	before := append([]float32(nil), src.Pix...)
	dst := frame.New(spec.Out.X, spec.Out.Y)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i] != src.Pix[i] {
			t.Fatal("input modified")
		}
	}
	return dst
}

// maxDiff is the largest absolute difference: NaN when sizes differ or a sample is NaN, so that a
// gate written !(d <= x) fails on either.
func maxDiff(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.NaN()
	}
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

func float64s(f *frame.Frame) []float64 {
	out := make([]float64, len(f.Pix))
	for i, v := range f.Pix {
		out[i] = float64(v)
	}
	return out
}

// TestStrength: at 0 the output is the Lanczos backend's, at 1 the model's, both bit for bit; in
// between the blend computed here from those two, in the signal domain and in linear light.
func TestStrength(t *testing.T) {
	model := openModel(t)
	src := input(t)
	spec := sr.Spec{In: src.Size(), Out: src.Size().Mul(2)}
	lz, err := classical.New("lanczos")
	if err != nil {
		t.Fatal(err)
	}
	wantL := upscale(t, lz, spec, src)
	wantM := upscale(t, model, spec, src)
	if d := maxDiff(wantM.Pix, float64s(wantL)); !(d > 0.1) {
		t.Fatalf("model and Lanczos differ by only %g: the test could not tell them apart", d)
	}
	run := func(s float64, linear bool) *frame.Frame {
		b, err := strength.New(model, strength.Config{Strength: s, Linear: linear})
		if err != nil {
			t.Fatal(err)
		}
		return upscale(t, b, spec, src)
	}
	if d := maxDiff(run(0, false).Pix, float64s(wantL)); !(d == 0) {
		t.Errorf("strength 0: %g from Lanczos", d)
	}
	if d := maxDiff(run(1, false).Pix, float64s(wantM)); !(d == 0) {
		t.Errorf("strength 1: %g from the model", d)
	}
	for _, s := range []float64{0.25, 0.7} {
		signal := make([]float64, len(wantM.Pix))
		linear := make([]float64, len(wantM.Pix))
		for i := range signal {
			m, l := float64(wantM.Pix[i]), float64(wantL.Pix[i])
			signal[i] = s*m + (1-s)*l
			linear[i] = math.Pow(s*math.Pow(m, 2.4)+(1-s)*math.Pow(l, 2.4), 1/2.4)
		}
		if d := maxDiff(run(s, false).Pix, signal); !(d <= 1e-6) {
			t.Errorf("strength %g: %g from the blend", s, d)
		}
		if d := maxDiff(run(s, true).Pix, linear); !(d <= 1e-6) {
			t.Errorf("strength %g in linear light: %g from the blend", s, d)
		}
	}
}

// TestWithTileReuse: strength composes with tile reuse (reuse wraps the blend): on a second frame
// with one corner changed, the tiles elsewhere are reused and the frame is the blend's own output
// within 40 dB.
func TestWithTileReuse(t *testing.T) {
	model := openModel(t)
	a := inputSize(t, 160, 90)
	b := frame.New(a.W, a.H)
	copy(b.Pix, a.Pix)
	for c := range 3 {
		p := b.Plane(c)
		for y := 4; y < 12; y++ {
			for x := 4; x < 12; x++ {
				p[y*b.W+x] = 1 - p[y*b.W+x]
			}
		}
	}
	spec := sr.Spec{In: a.Size(), Out: a.Size().Mul(2)}
	blend, err := strength.New(model, strength.Config{Strength: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	reuse, err := tilereuse.New(blend, tilereuse.Config{Threshold: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	if reuse.Name() != "realesrgan-x4fast@0.5+reuse" {
		t.Errorf("name %q", reuse.Name())
	}
	u, err := reuse.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	got := frame.New(spec.Out.X, spec.Out.Y)
	for _, f := range []*frame.Frame{a, b} {
		if err := u.Upscale(context.Background(), []*frame.Frame{got}, []*frame.Frame{f}); err != nil {
			t.Fatal(err)
		}
	}
	want := upscale(t, blend, spec, b)
	p := mediatest.PSNR(t, got, want)
	c := map[string]int64{}
	reuse.Counters(func(k string, v int64) { c[k] = v })
	t.Logf("reused against the blend's own output: %.1f dB; counters %v", p, c)
	mediatest.AtLeast(t, "PSNR against the blend's own output (dB)", p, 40)
	if !(c["reused_tiles"] >= 10) {
		t.Errorf("counters %v: want at least 10 of 15 tiles reused", c)
	}
}

func TestConfig(t *testing.T) {
	for _, s := range []float64{-0.1, 1.5, math.NaN()} {
		if _, err := strength.New(nil, strength.Config{Strength: s}); !errors.Is(err, strength.ErrConfig) {
			t.Errorf("strength %v: %v", s, err)
		}
	}
	lz, _ := classical.New("lanczos")
	b, err := strength.New(lz, strength.Config{Strength: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "lanczos@0.5" || b.Caps().SourceFormat {
		t.Errorf("name %q, caps %+v", b.Name(), b.Caps())
	}
	u, err := b.NewUpscaler(sr.Spec{In: image.Pt(8, 8), Out: image.Pt(16, 16)})
	if err != nil {
		t.Fatal(err)
	}
	u.Close()
	u.Close()
	if err := u.Upscale(context.Background(), []*frame.Frame{frame.New(16, 16)}, []*frame.Frame{frame.New(8, 8)}); !errors.Is(err, sr.ErrClosed) {
		t.Errorf("closed upscaler: %v", err)
	}
}
