package realesrgan

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// TestTiling checks tiles stitch well: x4fast on a 256x256 crop of a golden input, tiled at 64 vs
// one tile, and on the odd 97x61 golden input at 48 (columns of 48, 48 and 1 pixels, rows of 48 and
// 13) vs one. Seams are not invisible by construction: the net's receptive field (34 px) exceeds
// the 10 px prepadding, as in realesrgan-ncnn-vulkan, so smaller tiles lose more (97x61 at 32:
// 48 dB).
func TestTiling(t *testing.T) {
	b := openNamed(t, X4Fast)
	dir := goldenDir(t)
	for _, c := range []struct {
		name string
		src  *frame.Frame
		tile int
	}{
		{"256x256", crop(loadPNG(t, filepath.Join(dir, "03_blocks-full480x270_realesrgan-x4fast_lr.png")), 112, 7, 256, 256), 64},
		{"97x61", loadPNG(t, filepath.Join(dir, "02_cups-odd97x61_realesrgan-x4fast_lr.png")), 48},
	} {
		t.Run(c.name, func(t *testing.T) {
			whole := upscale(t, b, c.src, max(c.src.W, c.src.H), image.Point{})
			tiled := upscale(t, b, c.src, c.tile, image.Point{})
			psnr := mediatest.PSNR(t, tiled, whole)
			t.Logf("%v tile %d vs untiled: PSNR %.2f dB, max diff %d", c.src.Size(), c.tile, psnr, mediatest.MaxDiff(t, tiled, whole))
			mediatest.AtLeast(t, "PSNR (dB) tiled vs untiled", psnr, 50)
		})
	}
}

// TestOutputSize checks non-native output sizes (the -s 1, 2, 3 and W:H cases) are the native result
// resampled with antialiased Lanczos, and that the upscaler is reusable across frames.
func TestOutputSize(t *testing.T) {
	b := openNamed(t, X4Fast)
	src := crop(loadPNG(t, filepath.Join(goldenDir(t), "02_cups-odd97x61_realesrgan-x4fast_lr.png")), 0, 0, 48, 40)
	native := upscale(t, b, src, 0, image.Point{})
	for _, out := range []image.Point{src.Size(), src.Size().Mul(2), src.Size().Mul(3), image.Pt(100, 47)} {
		u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: out})
		if err != nil {
			t.Fatal(err)
		}
		want := frame.New(out.X, out.Y)
		if err := resample.Resize(resample.Lanczos, want, native); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 2; round++ {
			got := frame.New(out.X, out.Y)
			if err := u.Upscale(context.Background(), []*frame.Frame{got}, []*frame.Frame{src}); err != nil {
				t.Fatal(err)
			}
			if d := mediatest.MaxDiff(t, got, want); d != 0 {
				t.Errorf("%v round %d: max diff %d from Lanczos of the native result", out, round, d)
			}
		}
		if err := u.Close(); err != nil || u.Close() != nil {
			t.Fatal("Close twice failed")
		}
		if err := u.Upscale(context.Background(), []*frame.Frame{native}, []*frame.Frame{src}); err == nil {
			t.Fatal("Upscale after Close succeeded")
		}
	}
}

// blurModel writes a foreign test model to dir: a 3x3 box blur of each channel, upscaled 2x by
// pixel replication (depthwise Conv to 4 copies per channel, then DepthToSpace). Its batch is
// dynamic; fixed makes its height and width 16.
func blurModel(t testing.TB, dir string, fixed bool) string {
	t.Helper()
	hw := int64(-1)
	path := filepath.Join(dir, "blur2x.onnx")
	if fixed {
		hw, path = 16, filepath.Join(dir, "fixed.onnx")
	}
	return blurModelShape(t, path, -1, hw)
}

// blurModelShape writes blurModel with batch n and height and width hw (-1: dynamic) to path.
func blurModelShape(t testing.TB, path string, n, hw int64) string {
	t.Helper()
	g := onnx.NewGraph("blur2x")
	g.Input("lr", onnx.Float, n, 3, hw, hw)
	g.Output("hr", onnx.Float, n, 3, -1, -1)
	w := make([]float32, 12*9)
	for i := range w {
		w[i] = 1.0 / 9
	}
	g.Initializer("w", onnx.Float, []int64{12, 1, 3, 3}, w)
	g.Node("Conv", []string{"lr", "w"}, []string{"c"}, onnx.AttrInts("kernel_shape", 3, 3), onnx.AttrInts("pads", 1, 1, 1, 1), onnx.AttrInt("group", 3))
	g.Node("DepthToSpace", []string{"c"}, []string{"hr"}, onnx.AttrInt("blocksize", 2), onnx.AttrString("mode", "CRD"))
	data, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// blurReference computes what blurModel run through the backend must give, in integers and
// independently of the backend's quantizer: the 3x3 sum s of the reflect-extended 8-bit input (the
// net's own zero padding only touches tile padding, which is cropped), rounded to nearest as s/9
// (never exactly halfway, so float rounding in the net cannot tip it), each pixel replicated 2x2.
func blurReference(src *frame.Frame) *frame.Frame {
	out := frame.New(2*src.W, 2*src.H)
	for c := 0; c < 3; c++ {
		in, o := src.Plane(c), out.Plane(c)
		for y := 0; y < src.H; y++ {
			for x := 0; x < src.W; x++ {
				sum := 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						sum += int(math.Round(float64(in[mirror(y+dy, src.H)*src.W+mirror(x+dx, src.W)]) * 255))
					}
				}
				v := float32((2*sum+9)/18) / 255 // floor(sum/9 + 1/2)
				for k := 0; k < 4; k++ {
					o[(2*y+k/2)*out.W+2*x+k%2] = v
				}
			}
		}
	}
	return out
}

// mirror maps i in [-1, n] into [0, n) reflecting without repeating the edge pixel; a one-pixel
// side reflects into itself. (The backend has its own reflect; this one checks it.)
func mirror(i, n int) int {
	switch {
	case n == 1:
		return 0
	case i < 0:
		return -i
	case i >= n:
		return 2*(n-1) - i
	}
	return i
}

// TestForeignModel runs a foreign .onnx model: scale found by the probe, reflect padding at the
// image borders, tiles smaller than the padding, and a given ModelScale.
func TestForeignModel(t *testing.T) {
	ort.TestLoad(t)
	path := blurModel(t, t.TempDir(), false)
	var logs []string
	b, err := Open(Config{Model: path, Logf: func(f string, a ...any) { logs = append(logs, f) }, Runtime: ort.Runtime{Device: ort.DeviceAuto, Threads: 1}, Options: Options{Precision: PrecisionFP32}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Scale() != 2 || b.Name() != "blur2x.onnx" {
		t.Fatalf("scale %d name %q", b.Scale(), b.Name())
	}
	if b.Device() == ort.DeviceCPU && len(logs) != 1 {
		t.Errorf("auto fell back to the CPU with %d log lines, want 1", len(logs))
	}
	src := randomFrame(23, 17, 1)
	want := blurReference(src)
	for _, tile := range []int{0, 16, 7, 3} {
		got := upscale(t, b, src, tile, image.Point{})
		if d := mediatest.MaxDiff(t, got, want); d != 0 {
			t.Errorf("tile %d: max diff %d from the reflect-padded reference", tile, d)
		}
	}
	// A 1x1 input reflects into itself.
	one := randomFrame(1, 1, 2)
	if d := mediatest.MaxDiff(t, upscale(t, b, one, 0, image.Point{}), blurReference(one)); d != 0 {
		t.Errorf("1x1: max diff %d", d)
	}
	var tiles int64
	b.Counters(func(k string, v int64) {
		if k == "tiles" {
			tiles = v
		}
	})
	// 1 + 4 + 12 + 48 tiles for the 23x17 input, then 1.
	if tiles != 1+4+12+48+1 {
		t.Errorf("tiles counter %d", tiles)
	}

	b2, err := Open(Config{Model: path, Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}, Options: Options{Precision: PrecisionFP32, ModelScale: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if d := mediatest.MaxDiff(t, upscale(t, b2, src, 0, image.Point{}), want); d != 0 {
		t.Errorf("given scale: max diff %d", d)
	}
	b3, err := Open(Config{Model: path, Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}, Options: Options{ModelScale: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer b3.Close()
	u, err := b3.NewUpscaler(sr.Spec{In: src.Size(), Out: src.Size().Mul(3)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := frame.New(3*src.W, 3*src.H)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err == nil {
		t.Error("a wrong ModelScale ran without error")
	}
}

func TestOpenErrors(t *testing.T) {
	lib := ort.TestLoad(t)
	dir := t.TempDir()
	t.Setenv(EnvModelsDir, filepath.Join(dir, "nothing"))
	if _, err := Open(Config{Model: X4Fast, Runtime: ort.Runtime{CacheDir: dir, Library: lib}}); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("missing ncnn files: %v", err)
	}
	if _, err := Open(Config{Model: filepath.Join(dir, "none.onnx")}); !errors.Is(err, ErrModelNotFound) {
		t.Errorf("missing .onnx: %v", err)
	}
	if _, err := Open(Config{Model: blurModel(t, dir, true)}); !errors.Is(err, ErrBadModel) || !strings.Contains(err.Error(), "fixed size") {
		t.Errorf("fixed-size model: %v", err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Model: X4Fast, Options: Options{Precision: "int4"}}, `precision "int4"`},
		{Config{Model: X4Plus, Options: Options{Precision: PrecisionInt8}}, "only for realesrgan-x4fast"},
		{Config{Model: blurModel(t, dir, false), Options: Options{Precision: PrecisionInt8}}, "only for realesrgan-x4fast"},
		{Config{Model: X4Fast, Options: Options{Precision: PrecisionInt8}, Runtime: ort.Runtime{Device: ort.DeviceCUDA}}, "runs on the CPU, not cuda"},
		{Config{Model: X4Fast, Options: Options{Precision: PrecisionInt8, Resize: ResizeGraph}}, "not with precision int8"},
	} {
		if _, err := Open(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s, precision %s: %v, want an error saying %q", c.cfg.Model, c.cfg.Precision, err, c.want)
		}
	}
	if _, err := Open(Config{Model: blurModel(t, dir, false), Options: Options{Precision: PrecisionFP16}}); err == nil || !strings.Contains(err.Error(), "foreign") {
		t.Errorf("precision fp16 for a foreign model: %v", err)
	}
	if _, err := Open(Config{Model: blurModel(t, dir, false), Options: Options{Resize: ResizeGraph}}); err == nil || !strings.Contains(err.Error(), "foreign") {
		t.Errorf("graph resize for a foreign model: %v", err)
	}
	if _, err := Open(Config{Model: X4Fast, Options: Options{Resize: "lanczos"}}); err == nil || !strings.Contains(err.Error(), "resize") {
		t.Errorf("resize lanczos: %v", err)
	}
	if _, err := Open(Config{Model: "lanczos"}); !errors.Is(err, sr.ErrUnknownModel) {
		t.Errorf("lanczos: %v", err)
	}
	if _, err := Open(Config{Model: X4Fast, Runtime: ort.Runtime{Library: filepath.Join(dir, "nope.so")}}); !errors.Is(err, ort.ErrLibraryNotFound) {
		t.Errorf("bad --ort-lib: %v", err)
	}
	if _, err := Open(Config{Model: X4Fast, Runtime: ort.Runtime{Device: ort.DeviceCUDA}}); err == nil {
		t.Log("CUDA is available here")
	} else if !errors.Is(err, ort.ErrDeviceUnavailable) && !errors.Is(err, ErrModelNotFound) {
		t.Errorf("cuda: %v", err)
	}
}

func TestDefaultPrecision(t *testing.T) {
	int8IfPassed := PrecisionFP32
	if int8PassesGates {
		int8IfPassed = PrecisionInt8
	}
	for _, c := range []struct {
		d     ort.Device
		model string
		vnni  bool
		want  string
	}{
		{ort.DeviceCPU, X4Fast, true, int8IfPassed},
		{ort.DeviceCPU, X4Fast, false, PrecisionFP32},
		{ort.DeviceCPU, X4Plus, true, PrecisionFP32},
		{ort.DeviceCUDA, X4Fast, true, PrecisionFP16},
		{ort.DeviceTensorRT, X4Plus, false, PrecisionFP16},
	} {
		if got := DefaultPrecision(c.d, c.model, c.vnni); got != c.want {
			t.Errorf("DefaultPrecision(%v, %s, vnni %v) = %q, want %q", c.d, c.model, c.vnni, got, c.want)
		}
	}
}

// TestOpenPrecision checks which precision and which converted file Open picks: the device's
// default when unset (with auto, what the first session landed on), else the one asked for.
func TestOpenPrecision(t *testing.T) {
	ort.TestLoad(t)
	for _, c := range []struct {
		dev        ort.Device
		asked, cpu string // cpu: the precision expected when the session runs on the CPU
	}{
		{ort.DeviceCPU, "", DefaultPrecision(ort.DeviceCPU, X4Fast, ort.CPUHasVNNI())},
		{ort.DeviceAuto, "", DefaultPrecision(ort.DeviceCPU, X4Fast, ort.CPUHasVNNI())},
		{ort.DeviceAuto, PrecisionAuto, DefaultPrecision(ort.DeviceCPU, X4Fast, ort.CPUHasVNNI())},
		{ort.DeviceCPU, PrecisionFP16, PrecisionFP16},
		{ort.DeviceAuto, PrecisionFP32, PrecisionFP32},
		{ort.DeviceAuto, PrecisionInt8, PrecisionInt8},
	} {
		b, err := Open(Config{Model: X4Fast, Runtime: ort.Runtime{Device: c.dev, Threads: 1}, Options: Options{Precision: c.asked}})
		if errors.Is(err, ErrModelNotFound) {
			ort.TestSkip(t, "%v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		want := c.cpu
		if b.Device() != ort.DeviceCPU && (c.asked == "" || c.asked == PrecisionAuto) {
			want = DefaultPrecision(b.Device(), X4Fast, ort.CPUHasVNNI())
		}
		if b.Precision() != want || b.model.Path != ConvertedPath(X4Fast, want, b.cfg.CacheDir) {
			t.Errorf("%v, precision %q: runs %s on %v from %s, want %s", c.dev, c.asked, b.Precision(), b.Device(), b.model.Path, want)
		}
		b.Close()
	}
}

// TestConvertCache checks conversion on first use, reuse, reconversion when the ncnn files are
// newer than the cached ONNX file, and that each precision has its own file.
func TestConvertCache(t *testing.T) {
	models := ModelsDir("")
	if _, err := os.Stat(filepath.Join(models, X4Fast+".param")); err != nil {
		ort.TestSkip(t, "ncnn models not installed: %v", err)
	}
	cache := t.TempDir()
	t.Setenv(EnvModelsDir, models)
	p, err := Convert(X4Fast, PrecisionFP32, cache)
	if err != nil {
		t.Fatal(err)
	}
	if p != ConvertedPath(X4Fast, PrecisionFP32, cache) || filepath.Dir(p) != filepath.Join(cache, "models") {
		t.Fatalf("converted to %s", p)
	}
	st1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(X4Fast, PrecisionFP32, cache); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); !st.ModTime().Equal(old) {
		t.Errorf("cached file rewritten although newer than the ncnn files")
	}
	// Pretend the ncnn files changed: the cached file is now older than them.
	veryOld := time.Unix(1, 0)
	if err := os.Chtimes(p, veryOld, veryOld); err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(X4Fast, PrecisionFP32, cache); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(p)
	if st2.ModTime().Equal(veryOld) || st2.Size() != st1.Size() {
		t.Errorf("stale cache not reconverted (mtime %v, size %d vs %d)", st2.ModTime(), st2.Size(), st1.Size())
	}
	p16, err := Convert(X4Fast, PrecisionFP16, cache)
	if err != nil {
		t.Fatal(err)
	}
	st16, err := os.Stat(p16)
	if err != nil {
		t.Fatal(err)
	}
	if p16 != ConvertedPath(X4Fast, PrecisionFP16, cache) || p16 == p || filepath.Base(p16) != fmt.Sprintf("%s.v%d.%d.fp16.onnx", X4Fast, ncnn.Version, convertVersion) {
		t.Errorf("fp16 converted to %s (fp32 to %s)", p16, p)
	}
	if 2*st16.Size() > st1.Size()+st1.Size()/10 {
		t.Errorf("fp16 model %d bytes, fp32 %d: not about half", st16.Size(), st1.Size())
	}
	if _, err := Convert(X4Fast, "bf16", cache); err == nil {
		t.Error("precision bf16 converted")
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 2 {
		t.Errorf("want the fp32 and fp16 files, have %v (temporary files left?)", ents)
	}
}

// TestUpscaleErrors checks cancellation and size mismatches.
func TestUpscaleErrors(t *testing.T) {
	ort.TestLoad(t)
	b, err := Open(Config{Model: blurModel(t, t.TempDir(), false), Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	src := randomFrame(20, 10, 1)
	u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: src.Size().Mul(2)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := frame.New(40, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := u.Upscale(ctx, []*frame.Frame{dst}, []*frame.Frame{src}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if err := u.Upscale(context.Background(), []*frame.Frame{frame.New(40, 21)}, []*frame.Frame{src}); err == nil {
		t.Error("wrong destination size accepted")
	}
	if err := u.Upscale(context.Background(), nil, []*frame.Frame{src}); err == nil {
		t.Error("missing destination accepted")
	}
	if _, err := b.NewUpscaler(sr.Spec{In: image.Pt(0, 10), Out: image.Pt(0, 20)}); err == nil {
		t.Error("empty input size accepted")
	}
}

// TestConcurrentUpscalers runs two workers on one Backend, each with its own upscaler.
func TestConcurrentUpscalers(t *testing.T) {
	ort.TestLoad(t)
	b, err := Open(Config{Model: blurModel(t, t.TempDir(), false), Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}, Options: Options{Precision: PrecisionFP32, Tile: 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	src := randomFrame(21, 13, 5)
	want := blurReference(src)
	errs := make(chan error, 2)
	for w := 0; w < 2; w++ {
		go func() {
			u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: src.Size().Mul(2)})
			if err != nil {
				errs <- err
				return
			}
			defer u.Close()
			dst := frame.New(42, 26)
			for i := 0; i < 3; i++ {
				if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
					errs <- err
					return
				}
				if d, err := frame.MaxDiff(dst, want); err != nil || d != 0 {
					errs <- fmt.Errorf("max diff %d, %v", d, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < 2; w++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
