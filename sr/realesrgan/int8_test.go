package realesrgan

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// TestCalibrationFile checks the committed calibration: a finite range for every channel of every
// blob the converter quantizes, and the model conversion keyed by it.
func TestCalibrationFile(t *testing.T) {
	c, err := calibrationFor(X4Fast)
	if err != nil {
		t.Fatal(err)
	}
	openNamed(t, X4Fast) // the ncnn files are needed (skips without them, fails under UGCSR_REQUIRE_ORT=1)
	dir := ModelsDir("")
	n, err := ncnn.ReadFiles(filepath.Join(dir, X4Fast+".param"), filepath.Join(dir, X4Fast+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := n.Int8Blobs()
	if len(c.Ranges) != len(blobs) || c.Model != X4Fast || len(c.Frames) == 0 {
		t.Fatalf("calibration of %q: %d blobs from %d frames, want %d", c.Model, len(c.Ranges), len(c.Frames), len(blobs))
	}
	for _, blob := range blobs {
		rs := c.Ranges[blob]
		if len(rs) != 64 && len(rs) != 48 {
			t.Errorf("blob %s: %d channel ranges", blob, len(rs))
		}
		for i, r := range rs {
			if !(r.Max >= r.Min) || math.IsInf(float64(r.Max-r.Min), 0) {
				t.Errorf("blob %s channel %d: range %v", blob, i, r)
			}
		}
	}
	path := ConvertedPath(X4Fast, PrecisionInt8, "/cache")
	if want := fmt.Sprintf("/cache/models/%s.v%d.%d.int8-%d-%s.onnx", X4Fast, ncnn.Version, convertVersion, ncnn.Int8Version, c.ID()); path != want {
		t.Errorf("int8 model cached at %s, want %s", path, want)
	}
	other := *c
	other.Equalize++
	if other.ID() == c.ID() {
		t.Error("a calibration with another equalization has the same ID")
	}
}

// TestInt8Kernels checks that ONNX Runtime runs every convolution of the int8 model as an integer
// kernel: the optimized graph it writes holds one QLinearConv per convolution of x4fast (34), no
// float Conv or FusedConv in any domain, and stays in one layout (two Transposes: in and out); and
// its profiler times QLinearConv kernels and no Conv.
func TestInt8Kernels(t *testing.T) {
	b := openPrecision(t, X4Fast, PrecisionInt8)
	dir := t.TempDir()
	opt, prof := filepath.Join(dir, "optimized.onnx"), filepath.Join(dir, "profile")
	s, err := ort.NewSession(b.model, ort.Config{Device: ort.DeviceCPU, Threads: 1, Inputs: []string{b.input}, Outputs: []string{b.output},
		OptimizedModelPath: opt, ProfilePrefix: prof})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := ort.NewTensor(ort.Float32, 1, 3, 24, 32)
	out, _ := ort.NewTensor(ort.Float32, 1, 3, 96, 128)
	defer in.Close()
	defer out.Close()
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	s.Close() // writes the profile

	data, err := os.ReadFile(opt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.ReadModel(data)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, nd := range m.Nodes {
		ops[nd.Op]++
		if nd.Op == "Conv" || nd.Op == "FusedConv" {
			t.Errorf("optimized graph has a float %s (domain %q): %s", nd.Op, nd.Domain, nd.Name)
		}
	}
	if ops["QLinearConv"] != 34 || ops["Transpose"] > 2 {
		t.Errorf("optimized graph: %d QLinearConv (want 34), %d Transpose (want <= 2); ops %v", ops["QLinearConv"], ops["Transpose"], ops)
	}

	files, _ := filepath.Glob(prof + "*.json")
	if len(files) != 1 {
		t.Fatalf("profiler wrote %q", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var events []struct {
		Cat  string `json:"cat"`
		Dur  int64  `json:"dur"`
		Args struct {
			Op string `json:"op_name"`
		} `json:"args"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		t.Fatal(err)
	}
	kernels := map[string]int{}
	for _, e := range events {
		if e.Cat == "Node" && e.Args.Op != "" {
			kernels[e.Args.Op]++
		}
	}
	if kernels["QLinearConv"] == 0 || kernels["Conv"] != 0 || kernels["FusedConv"] != 0 {
		t.Errorf("profiled kernels %v: want QLinearConv, no Conv", kernels)
	}
	t.Logf("optimized graph ops %v; profiled kernel events %v", ops, kernels)
}

// clipFramesAt decodes n frames of clip from start, area-scaled to w x h and rounded to 8 bits (a
// smaller clip's frames).
func clipFramesAt(t testing.TB, clip string, start time.Duration, n int64, w, h int) []*frame.Frame {
	t.Helper()
	full := mediatest.DecodeFramesWith(t, decode.Options{Input: clip, Start: start, MaxFrames: n})
	if int64(len(full)) != n {
		t.Fatalf("%s: %d frames from %v, want %d", clip, len(full), start, n)
	}
	out := make([]*frame.Frame, len(full))
	for i, f := range full {
		out[i] = frame.New(w, h)
		if err := resample.Resize(resample.Area, out[i], f); err != nil {
			t.Fatal(err)
		}
		for k, v := range out[i].Pix {
			out[i].Pix[k] = float32(frame.To8(v)) / 255
		}
	}
	return out
}

// meanLumaStep returns the mean absolute frame-to-frame difference of BT.601 luma over frames, in
// 8-bit levels: how much the video flickers.
func meanLumaStep(frames []*frame.Frame) float64 {
	sum, count := 0.0, 0
	for i := 1; i < len(frames); i++ {
		a, b := frames[i-1], frames[i]
		n := a.W * a.H
		for p := range n {
			ya := 0.299*a.Pix[p] + 0.587*a.Pix[n+p] + 0.114*a.Pix[2*n+p]
			yb := 0.299*b.Pix[p] + 0.587*b.Pix[n+p] + 0.114*b.Pix[2*n+p]
			sum += math.Abs(float64(ya-yb)) * 255
			count++
		}
	}
	return sum / float64(count)
}

// The int8 model's quality gates (decide int8PassesGates) and the floors it is held to today (a
// regression fails; measured with the committed calibration: worst 32.15 dB vs fp32, 32.90 dB vs
// the goldens, flicker +103%).
const (
	int8VsFP32dB   = 40
	int8VsGoldenDB = 38
	int8FlickerTol = 0.05

	int8FloorFP32    = 31
	int8FloorGolden  = 31.5
	int8FloorFlicker = 1.2
)

// TestInt8Quality compares the int8 x4fast with the fp32 one on the golden inputs (and with the
// goldens) and on six consecutive frames of each shared clip from 7.0 s (frames the calibration
// did not see), area-scaled to 320x180: PSNR against fp32, PSNR against the goldens, and flicker
// (mean frame-to-frame luma change) relative to fp32's. Each is logged; the floors asserted are
// what int8 reaches today (see int8PassesGates and the calibration's doc), so a regression fails,
// while the gates (int8VsFP32dB and friends) decide int8PassesGates.
func TestInt8Quality(t *testing.T) {
	b32 := openPrecision(t, X4Fast, PrecisionFP32)
	b8 := openPrecision(t, X4Fast, PrecisionInt8)
	dir, entries := goldenEntries(t)
	worst32, worstGolden := math.Inf(1), math.Inf(1)
	for _, e := range entries {
		if e.Model != X4Fast {
			continue
		}
		lr := loadPNG(t, filepath.Join(dir, e.LR))
		if lr.W > 640 || lr.H > 360 {
			continue
		}
		golden := loadPNG(t, filepath.Join(dir, e.X4))
		want := upscale(t, b32, lr, e.Tile, golden.Size())
		got := upscale(t, b8, lr, e.Tile, golden.Size())
		p32, pg := mediatest.PSNR(t, got, want), mediatest.PSNR(t, got, golden)
		t.Logf("%s %v: int8 vs fp32 %.2f dB, vs golden %.2f dB", e.Name, lr.Size(), p32, pg)
		worst32, worstGolden = min(worst32, p32), min(worstGolden, pg)
	}
	clips := filepath.Join(mediatest.RepoRoot(t), "..", "shared", "clips")
	worstFlicker := 0.0
	for _, clip := range []string{"01_dog", "02_cups", "03_blocks"} {
		frames := clipFramesAt(t, filepath.Join(clips, clip+".mp4"), 7*time.Second, 6, 320, 180)
		var outs32, outs8 []*frame.Frame
		for _, f := range frames {
			outs32 = append(outs32, upscale(t, b32, f, 0, image.Point{}))
			outs8 = append(outs8, upscale(t, b8, f, 0, image.Point{}))
		}
		p := math.Inf(1)
		for i := range outs8 {
			p = min(p, mediatest.PSNR(t, outs8[i], outs32[i]))
		}
		f32, f8 := meanLumaStep(outs32), meanLumaStep(outs8)
		rel := math.Abs(f8/f32 - 1)
		t.Logf("%s t=7.0s 6 frames 320x180: int8 vs fp32 worst %.2f dB; flicker fp32 %.3f, int8 %.3f levels (%+.1f%%)", clip, p, f32, f8, 100*(f8/f32-1))
		worst32, worstFlicker = min(worst32, p), max(worstFlicker, rel)
	}
	t.Logf("worst: int8 vs fp32 %.2f dB (gate %d), vs goldens %.2f dB (gate %d), flicker %.1f%% (gate %.0f%%)",
		worst32, int8VsFP32dB, worstGolden, int8VsGoldenDB, 100*worstFlicker, 100*int8FlickerTol)
	passes := worst32 >= int8VsFP32dB && worstGolden >= int8VsGoldenDB && worstFlicker <= int8FlickerTol
	if passes != int8PassesGates {
		t.Errorf("int8 passes the gates: %v, but int8PassesGates is %v", passes, int8PassesGates)
	}
	mediatest.AtLeast(t, "worst int8 vs fp32 PSNR (dB)", worst32, int8FloorFP32)
	mediatest.AtLeast(t, "worst int8 vs golden PSNR (dB)", worstGolden, int8FloorGolden)
	mediatest.AtMost(t, "worst relative flicker change", worstFlicker, int8FloorFlicker)
}

// BenchmarkInt8PReLU compares ways of writing PReLU in the int8 x4fast (ncnn.Int8PReLU) with the
// fp32 model, at 320x180 on the CPU, one whole-frame tile.
func BenchmarkInt8PReLU(b *testing.B) {
	lib := ort.TestLoad(b)
	c, err := calibrationFor(X4Fast)
	if err != nil {
		b.Fatal(err)
	}
	dir := ModelsDir("")
	n, err := ncnn.ReadFiles(filepath.Join(dir, X4Fast+".param"), filepath.Join(dir, X4Fast+".bin"))
	if err != nil {
		ort.TestSkip(b, "ncnn models: %v", err)
	}
	ref := openPrecision(b, X4Fast, PrecisionFP32)
	flops, err := n.ConvFLOPsPerPixel()
	if err != nil {
		b.Fatal(err)
	}
	size := benchSizes[1:2]
	b.Run("fp32", func(b *testing.B) { benchUpscale(b, ref, flops, size, size[0].X) })
	for _, f := range []struct {
		name string
		form ncnn.Int8PReLU
	}{{"max-exact", ncnn.Int8MaxExact}, {"max-mul", ncnn.Int8MaxMul}, {"max-float", ncnn.Int8MaxFloat}, {"prelu", ncnn.Int8PRelu}} {
		q := c.Int8()
		q.PReLU = f.form
		data, err := ncnn.ConvertInt8(n, q)
		if err != nil {
			b.Fatal(err)
		}
		path := filepath.Join(b.TempDir(), f.name+".onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.Fatal(err)
		}
		be, err := Open(Config{Model: path, Runtime: ort.Runtime{Library: lib, Device: ort.DeviceCPU}, Options: Options{ModelScale: 4}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f.name, func(b *testing.B) { benchUpscale(b, be, flops, size, size[0].X) })
		be.Close()
	}
}
