package realesrgan

import (
	"context"
	"errors"
	"image"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// TestBatch checks that batched runs give exactly (max diff 0, compared as floats) what one tile
// per run gives, with x4fast in fp32 on -device (the CPU) and Batch 2: tiles of two shapes from one frame,
// whole frames two per call (three frames: the second run has a stale slot), and whole frames
// resampled to a non-native size.
func TestBatch(t *testing.T) {
	one := openNamed(t, X4Fast)
	two, err := Open(Config{Model: X4Fast, Logf: t.Logf, Runtime: ort.Runtime{Device: device(t)}, Options: Options{Precision: PrecisionFP32, Batch: 2, Resize: ResizeGo}})
	if err != nil {
		t.Fatal(err)
	}
	defer two.Close()
	if two.Batch() != 2 || one.Batch() != 1 {
		t.Fatalf("batch %d and %d, want 2 and 1", two.Batch(), one.Batch())
	}
	lr := loadPNG(t, filepath.Join(goldenDir(t), "02_cups-odd97x61_realesrgan-x4fast_lr.png"))
	src := crop(lr, 0, 0, 64, 48)
	frames := []*frame.Frame{src, crop(lr, 33, 13, 64, 48), crop(lr, 20, 5, 64, 48)}
	for _, c := range []struct {
		name      string
		tile, n   int
		out       image.Point
		frames    int // BatchSize
		runTiles  int // tiles a run of the batched upscaler takes, per shape
		wantTiles int64
	}{
		{"tiles", 32, 1, src.Size().Mul(4), 1, 2, 4}, // 32x32 and 32x16 tiles, two of each
		{"frames", 64, 3, src.Size().Mul(4), 2, 2, 3},
		{"resampled", 64, 3, src.Size().Mul(2), 2, 2, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := sr.Spec{In: src.Size(), Out: c.out}
			u1, err := one.newUpscaler(spec, c.tile)
			if err != nil {
				t.Fatal(err)
			}
			defer u1.Close()
			u2, err := two.newUpscaler(spec, c.tile)
			if err != nil {
				t.Fatal(err)
			}
			defer u2.Close()
			if u2.BatchSize() != c.frames || u1.BatchSize() != 1 {
				t.Errorf("BatchSize %d and %d, want %d and 1", u2.BatchSize(), u1.BatchSize(), c.frames)
			}
			for _, tb := range u2.bufs {
				if tb.n != c.runTiles {
					t.Errorf("%dx%d tiles: %d per run, want %d", tb.pw, tb.ph, tb.n, c.runTiles)
				}
			}
			in := frames[:c.n]
			want, got := make([]*frame.Frame, c.n), make([]*frame.Frame, c.n)
			for i := range in {
				want[i], got[i] = frame.New(c.out.X, c.out.Y), frame.New(c.out.X, c.out.Y)
				if err := u1.Upscale(context.Background(), want[i:i+1], in[i:i+1]); err != nil {
					t.Fatal(err)
				}
			}
			before := tiles(two)
			if err := u2.Upscale(context.Background(), got, in); err != nil {
				t.Fatal(err)
			}
			if n := tiles(two) - before; n != c.wantTiles {
				t.Errorf("tiles counter went up by %d, want %d", n, c.wantTiles)
			}
			for i := range in {
				for j, v := range got[i].Pix {
					if v != want[i].Pix[j] {
						t.Fatalf("frame %d sample %d: %v batched, %v alone", i, j, v, want[i].Pix[j])
					}
				}
			}
		})
	}
}

// TestBatchForeign runs a foreign model with a dynamic batch three tiles at a time (7x7 tiles of a
// 23x17 input: 12 tiles of four shapes), against the integer reference, and checks that a model
// with a fixed batch runs one tile at a time whatever Batch says.
func TestBatchForeign(t *testing.T) {
	ort.TestLoad(t)
	dir := t.TempDir()
	b, err := Open(Config{Model: blurModel(t, dir, false), Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}, Options: Options{ModelScale: 2, Batch: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	src := randomFrame(23, 17, 3)
	if d := mediatest.MaxDiff(t, upscale(t, b, src, 7, image.Point{}), blurReference(src)); d != 0 {
		t.Errorf("batch 3: max diff %d from the reference", d)
	}
	fixed, err := Open(Config{Model: blurModelShape(t, filepath.Join(dir, "n1.onnx"), 1, -1), Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}, Options: Options{ModelScale: 2, Batch: 3}})
	if err != nil {
		t.Fatal(err)
	}
	defer fixed.Close()
	if fixed.Batch() != 1 {
		t.Errorf("fixed-batch model: Batch %d, want 1", fixed.Batch())
	}
	if d := mediatest.MaxDiff(t, upscale(t, fixed, src, 7, image.Point{}), blurReference(src)); d != 0 {
		t.Errorf("fixed batch: max diff %d from the reference", d)
	}
}

// tiles returns b's "tiles" counter.
func tiles(b *Backend) int64 {
	var n int64
	b.Counters(func(k string, v int64) {
		if k == "tiles" {
			n = v
		}
	})
	return n
}

// TestBatchDefault checks the CPU's defaults (fp32, Batch 1, the Go resize) and AutoTile on a GPU,
// which gives a 1080p frame to x4fast in fp16 whole and cuts it for x4plus.
func TestBatchDefault(t *testing.T) {
	ort.TestLoad(t)
	b, err := Open(Config{Model: X4Fast, Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: 1}})
	if errors.Is(err, ErrModelNotFound) {
		ort.TestSkip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Batch() != 1 || b.Precision() != PrecisionFP32 || b.Resize() != ResizeGo {
		t.Errorf("CPU defaults: batch %d, %s, resize %s; want 1, fp32, go", b.Batch(), b.Precision(), b.Resize())
	}
	hd := image.Pt(1920, 1080)
	for _, c := range []struct {
		b    *Backend
		want int
	}{
		{&Backend{pxCost: 1 << 10, device: ort.DeviceCUDA, precision: PrecisionFP16, batch: GPUBatch}, 1920},
		{&Backend{pxCost: 12 << 10, device: ort.DeviceCUDA, precision: PrecisionFP16, batch: GPUBatch}, 540}, // 4x2 tiles
		{&Backend{pxCost: 12 << 10, device: ort.DeviceTensorRT, precision: PrecisionFP32, batch: 1}, 640},    // 3x2
		{&Backend{pxCost: 1 << 10, device: ort.DeviceCPU, precision: PrecisionFP32, batch: 2}, 640},          // 3x2
	} {
		if got := c.b.AutoTile(hd); got != c.want {
			t.Errorf("%v %s batch %d cost %d: tile %d, want %d", c.b.device, c.b.precision, c.b.batch, c.b.pxCost, got, c.want)
		}
	}
}
