package realesrgan

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/onnx"
)

// convFLOPsPerPixel returns 2*Cout*(Cin/group)*kh*kw summed over the model's Conv nodes, i.e. the
// conv FLOPs per output pixel if every conv runs at the input resolution (true of x4fast, whose
// only upscaling is the final DepthToSpace).
func convFLOPsPerPixel(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	m, err := onnx.ReadModel(data)
	if err != nil {
		return 0, err
	}
	weights := map[string]int64{} // initializer name -> element count
	for _, t := range m.Initializers {
		n := int64(1)
		for _, d := range t.Dims {
			n *= d
		}
		weights[t.Name] = n
	}
	var flops int64
	for _, n := range m.Nodes {
		// Depthwise 1x1 convolutions are how the converter writes PReLU (sr/ncnn
		// PReLUDepthwise): elementwise work, not the model's convolutions.
		if n.Op != "Conv" || len(n.Inputs) < 2 || strings.HasSuffix(n.Inputs[1], ".neg") || strings.HasSuffix(n.Inputs[1], ".1-slope") {
			continue
		}
		w, ok := weights[n.Inputs[1]]
		if !ok {
			return 0, fmt.Errorf("conv weight %q is not an initializer", n.Inputs[1])
		}
		flops += 2 * w
	}
	return flops, nil
}

// benchUpscale reports per-frame time and the achieved conv GFLOP/s (FLOPs counted over the padded
// tiles actually run) for b at each size.
func benchUpscale(b *testing.B, be *Backend, flopsPerPx int64, sizes []image.Point, tile int) {
	for _, in := range sizes {
		name := fmt.Sprintf("%dx%d", in.X, in.Y)
		if tile > 0 {
			name += fmt.Sprintf("/tile%d", tile)
		}
		b.Run(name, func(b *testing.B) {
			src := randomFrame(in.X, in.Y, 1)
			spec := sr.Spec{In: in, Out: in.Mul(be.Scale())}
			u, err := be.newUpscaler(spec, tile)
			if err != nil {
				b.Fatal(err)
			}
			defer u.Close()
			var padded int64
			for _, t := range u.tiles {
				padded += int64(t.buf.pw * t.buf.ph)
			}
			dst := []*frame.Frame{frame.New(spec.Out.X, spec.Out.Y)}
			ctx := context.Background()
			if err := u.Upscale(ctx, dst, []*frame.Frame{src}); err != nil { // warm-up: arena, kernels
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := u.Upscale(ctx, dst, []*frame.Frame{src}); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds()
			b.ReportMetric(float64(flopsPerPx*padded)*float64(b.N)/sec/1e9, "GFLOP/s")
			b.ReportMetric(float64(len(u.tiles)), "tiles")
		})
	}
}

var benchSizes = []image.Point{{160, 90}, {320, 180}, {640, 360}}

// BenchmarkX4Fast measures realesrgan-x4fast per frame on the CPU with auto tiling and all cores.
// Compare GFLOP/s with sr/ort's BenchmarkMatMul.
func BenchmarkX4Fast(b *testing.B) {
	be := openNamed(b, X4Fast)
	flops, err := convFLOPsPerPixel(be.model.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("x4fast: %.3f MFLOP per padded input pixel", float64(flops)/1e6)
	benchUpscale(b, be, flops, benchSizes, 0)
}

// BenchmarkX4FastTile measures how the tile size affects x4fast at 640x360 (auto picks one tile).
func BenchmarkX4FastTile(b *testing.B) {
	be := openNamed(b, X4Fast)
	flops, err := convFLOPsPerPixel(be.model.Path)
	if err != nil {
		b.Fatal(err)
	}
	for _, tile := range []int{64, 128, 200, 320} {
		benchUpscale(b, be, flops, benchSizes[2:], tile)
	}
}

func TestConvFLOPs(t *testing.T) {
	b := openNamed(t, X4Fast)
	flops, err := convFLOPsPerPixel(b.model.Path)
	if err != nil {
		t.Fatal(err)
	}
	// 3->64, 32 x 64->64, 64->48, all 3x3.
	if want := int64(2 * 9 * (3*64 + 32*64*64 + 64*48)); flops != want {
		t.Fatalf("x4fast: %d FLOPs per pixel, want %d", flops, want)
	}
}

// TestBench runs Bench on one small size with a reference binary that does not exist.
func TestBench(t *testing.T) {
	openNamed(t, X4Fast) // skips (or fails, with $UGCSR_REQUIRE_ORT=1) without ONNX Runtime or the models
	in := image.Pt(32, 24)
	r, err := Bench(context.Background(), BenchOptions{Sizes: []image.Point{in}, Reps: 1, Threads: 1,
		NCNNBin: filepath.Join(t.TempDir(), "missing")})
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * 9 * (3*64 + 32*64*64 + 64*48)); r.FLOPsPerPixel != want {
		t.Errorf("FLOPs per pixel %d, want %d", r.FLOPsPerPixel, want)
	}
	if r.Threads != 1 || r.ORTVersion == "" || !(r.MatMulGFLOPS > 0) || !(r.Int8MatMulGOPS > 0) || r.NCNNOverhead != 0 || len(r.Rows) != 1 {
		t.Fatalf("%+v", r)
	}
	row := r.Rows[0]
	want := float64(r.FLOPsPerPixel) * float64(in.X*in.Y) / row.Time.Seconds() / 1e9
	if row.In != in || row.Time <= 0 || !(math.Abs(row.GFLOPS-want) <= 1e-9*want) {
		t.Errorf("row %+v, want %.3f GFLOP/s", row, want)
	}
	want8 := float64(r.FLOPsPerPixel) * float64(in.X*in.Y) / row.Int8Time.Seconds() / 1e9
	if row.Int8Time <= 0 || !(math.Abs(row.Int8GOPS-want8) <= 1e-9*want8) {
		t.Errorf("row %+v, want %.3f int8 GOP/s", row, want8)
	}
	if !errors.Is(row.NCNNErr, fs.ErrNotExist) || row.NCNN != 0 {
		t.Errorf("reference: %v, %v; want a missing binary", row.NCNN, row.NCNNErr)
	}
	t.Logf("%+v", r)
}
