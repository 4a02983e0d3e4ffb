package realesrgan

import (
	"context"
	"errors"
	"flag"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"image"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// testDevice is where the backends of the parity tests run. The bounds are the CPU's: on a GPU,
// run -device cuda -run 'TestGoldenFP16|TestGraphResize|TestBatch$' (TestGolden's fp32 bounds,
// 80 dB and max |diff| 1, assume the CPU's arithmetic).
var testDevice = flag.String("device", "cpu", "device of the parity tests' backends: cpu, cuda or tensorrt")

// device parses -device, failing t on a bad value.
func device(t testing.TB) ort.Device {
	t.Helper()
	d, err := ort.ParseDevice(*testDevice)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// opened caches one Backend per model for the whole test binary (opening x4plus costs a second);
// TestMain closes them.
var opened struct {
	mu sync.Mutex
	m  map[string]*Backend
}

// TestMain points the cache ($UGCSR_CACHE) at a temporary directory for the whole test binary, so
// that models are converted by the code under test, never reused from (or left in) the user's
// cache: a converter fault, or one injected by scripts/mutants.sh, must not outlive its run. The
// ncnn models and ONNX Runtime are still found where they are ($UGCSR_MODELS_DIR and
// $UGCSR_ORT_LIB are set to them unless already set).
func TestMain(m *testing.M) {
	home := appcache.Dir()
	if os.Getenv(EnvModelsDir) == "" {
		os.Setenv(EnvModelsDir, ModelsDir(home))
	}
	if p, err := ort.LibraryPath("", home); err == nil && os.Getenv(ort.EnvLib) == "" {
		os.Setenv(ort.EnvLib, p)
	}
	tmp, err := os.MkdirTemp("", "ugcsr-realesrgan-test")
	if err != nil {
		panic(err)
	}
	os.Setenv(appcache.Env, tmp)
	code := m.Run()
	for _, b := range opened.m {
		b.Close()
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// openNamed returns the shared backend for a named model in fp32 on -device (the CPU) with auto
// tiling, one tile per run and the Go resize, skipping the test when ONNX Runtime or the ncnn
// models are not installed (failing instead under UGCSR_REQUIRE_ORT=1). The golden and parity
// tests depend on the precision being fp32.
func openNamed(t testing.TB, name string) *Backend {
	t.Helper()
	return openPrecision(t, name, PrecisionFP32)
}

// openPrecision is openNamed in the given precision.
func openPrecision(t testing.TB, name, precision string) *Backend {
	t.Helper()
	ort.TestLoad(t)
	opened.mu.Lock()
	defer opened.mu.Unlock()
	key := name + "/" + precision
	if b := opened.m[key]; b != nil {
		return b
	}
	b, err := Open(Config{Model: name, Logf: t.Logf, Runtime: ort.Runtime{Device: device(t)},
		Options: Options{Precision: precision, Batch: 1, Resize: ResizeGo}})
	if errors.Is(err, ErrModelNotFound) {
		ort.TestSkip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if b.Precision() != precision {
		t.Fatalf("opened %s in %s, asked for %s", name, b.Precision(), precision)
	}
	if opened.m == nil {
		opened.m = map[string]*Backend{}
	}
	opened.m[key] = b
	return b
}

// upscale runs b on src with the given tile size (0 auto) and output size (zero: native scale).
func upscale(t testing.TB, b *Backend, src *frame.Frame, tile int, out image.Point) *frame.Frame {
	t.Helper()
	if out == (image.Point{}) {
		out = src.Size().Mul(b.Scale())
	}
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: out}, tile)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	before := append([]float32(nil), src.Pix...)
	dst := frame.New(out.X, out.Y)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i] != src.Pix[i] {
			t.Fatalf("Upscale modified its input at %d", i)
		}
	}
	return dst
}

// goldenDir returns ../shared/golden next to the repository, skipping when it is absent.
func goldenDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(mediatest.RepoRoot(t), "..", "shared", "golden")
	if _, err := os.Stat(filepath.Join(d, "MANIFEST.txt")); err != nil {
		ort.TestSkip(t, "golden outputs not found: %v", err)
	}
	return d
}

func loadPNG(t testing.TB, path string) *frame.Frame {
	t.Helper()
	return frame.FromImage(mediatest.ReadPNG(t, path))
}

func savePNG(t testing.TB, path string, f *frame.Frame) {
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

// crop returns a copy of the w x h region of f at (x, y).
func crop(f *frame.Frame, x, y, w, h int) *frame.Frame {
	c := frame.New(w, h)
	for p := 0; p < 3; p++ {
		src, dst := f.Plane(p), c.Plane(p)
		for r := 0; r < h; r++ {
			copy(dst[r*w:(r+1)*w], src[(y+r)*f.W+x:])
		}
	}
	return c
}

// randomFrame returns a w x h frame of seeded random 8-bit samples.
func randomFrame(w, h int, seed int64) *frame.Frame {
	r := rand.New(rand.NewSource(seed))
	f := frame.New(w, h)
	for i := range f.Pix {
		f.Pix[i] = float32(r.Intn(256)) / 255
	}
	return f
}
