package realesrgan

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/resample"
)

func TestDefaultResize(t *testing.T) {
	for d, want := range map[ort.Device]string{
		ort.DeviceCPU: ResizeGo, ort.DeviceCUDA: ResizeGraph, ort.DeviceTensorRT: ResizeGraph,
	} {
		if got := DefaultResize(d); got != want {
			t.Errorf("DefaultResize(%v) = %q, want %q", d, got, want)
		}
	}
}

// openResize opens x4fast on -device (the CPU) with ResizeGraph in precision, with batch.
func openResize(t *testing.T, precision string, batch int, logf func(string, ...any)) *Backend {
	t.Helper()
	b, err := Open(Config{Model: X4Fast, Logf: logf, Runtime: ort.Runtime{Device: device(t)},
		Options: Options{Precision: precision, Resize: ResizeGraph, Batch: batch}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Resize() != ResizeGraph {
		t.Fatalf("resize %q", b.Resize())
	}
	return b
}

// TestGraphResize runs x4fast on the CPU with the resize appended to the model (ResizeGraph) on
// the odd 97x61 golden input, for outputs below, at and above the native x4 size, and compares
// with two Go resizes of the native result:
//   - the CPU path, antialiased Lanczos-3 (ResizeGo): a different filter, so only PSNR >= 40 dB
//     (we measure 44.9-53.9 dB);
//   - antialiased bicubic a=-0.5 (sr/resample Bicubic), the graph's own filter: PSNR >= 75 dB and
//     max |diff| <= 1 (we measure 86 dB to identical), so a wrong crop, scale or quantization
//     shows.
//
// At the native size the graph is not used: the output equals the plain path's exactly.
func TestGraphResize(t *testing.T) {
	ref := openNamed(t, X4Fast)
	lr := loadPNG(t, filepath.Join(goldenDir(t), "02_cups-odd97x61_realesrgan-x4fast_lr.png"))
	native := upscale(t, ref, lr, 0, image.Point{})
	for _, precision := range []string{PrecisionFP32, PrecisionFP16} {
		b := openResize(t, precision, 0, t.Logf)
		defer b.Close()
		nat := native
		if precision == PrecisionFP16 {
			nat = upscale(t, openPrecision(t, X4Fast, PrecisionFP16), lr, 0, image.Point{})
		}
		sizes := []image.Point{lr.Size().Mul(2), lr.Size(), lr.Size().Mul(3), image.Pt(100, 47), lr.Size().Mul(5)}
		if precision == PrecisionFP16 {
			sizes = sizes[:1]
		}
		for _, out := range sizes {
			got := upscale(t, b, lr, 0, out)
			lanczos, bicubic := frame.New(out.X, out.Y), frame.New(out.X, out.Y)
			if err := resample.Resize(resample.Lanczos, lanczos, nat); err != nil {
				t.Fatal(err)
			}
			if err := resample.Resize(resample.Bicubic, bicubic, nat); err != nil {
				t.Fatal(err)
			}
			pl, pb, db := mediatest.PSNR(t, got, lanczos), mediatest.PSNR(t, got, bicubic), mediatest.MaxDiff(t, got, bicubic)
			t.Logf("%s %v -> %v in the graph: %.2f dB vs Go Lanczos; %.2f dB (max diff %d) vs Go bicubic", precision, lr.Size(), out, pl, pb, db)
			mediatest.AtLeast(t, "PSNR (dB) vs Go Lanczos", pl, 40)
			mediatest.AtLeast(t, "PSNR (dB) vs Go bicubic", pb, 75)
			mediatest.AtMost(t, "max |diff| vs Go bicubic", float64(db), 1)
		}
		if precision == PrecisionFP32 {
			if d := mediatest.MaxDiff(t, upscale(t, b, lr, 0, image.Point{}), native); d != 0 {
				t.Errorf("native size: max diff %d from the plain path", d)
			}
		}
	}
}

// TestGraphResizeFallback checks that a frame of several tiles is resized in Go (the graph needs
// whole frames), with one log line, and equals the CPU path exactly.
func TestGraphResizeFallback(t *testing.T) {
	var logs []string
	b := openResize(t, PrecisionFP32, 0, func(f string, a ...any) { logs = append(logs, f) })
	defer b.Close()
	lr := crop(loadPNG(t, filepath.Join(goldenDir(t), "02_cups-odd97x61_realesrgan-x4fast_lr.png")), 0, 0, 64, 48)
	out := lr.Size().Mul(2)
	got := upscale(t, b, lr, 32, out)
	if d := mediatest.MaxDiff(t, got, upscale(t, openNamed(t, X4Fast), lr, 32, out)); d != 0 {
		t.Errorf("tiled: max diff %d from the Go resize", d)
	}
	if len(logs) != 1 || !strings.Contains(logs[0], "in Go") {
		t.Errorf("logs %q, want one line about resizing in Go", logs)
	}
}

// TestGraphResizeBatch runs the graph resize two frames per model run (three frames: the second
// run has a stale slot) and requires exactly what one frame per run gives.
func TestGraphResizeBatch(t *testing.T) {
	one := openResize(t, PrecisionFP32, 1, t.Logf)
	defer one.Close()
	two := openResize(t, PrecisionFP32, 2, t.Logf)
	defer two.Close()
	lr := loadPNG(t, filepath.Join(goldenDir(t), "02_cups-odd97x61_realesrgan-x4fast_lr.png"))
	in := []*frame.Frame{crop(lr, 0, 0, 48, 40), crop(lr, 40, 20, 48, 40), crop(lr, 20, 10, 48, 40)}
	spec := sr.Spec{In: in[0].Size(), Out: image.Pt(100, 47)}
	u1, err := one.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer u1.Close()
	u2, err := two.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer u2.Close()
	if u2.BatchSize() != 2 {
		t.Errorf("BatchSize %d, want 2", u2.BatchSize())
	}
	got := []*frame.Frame{frame.New(100, 47), frame.New(100, 47), frame.New(100, 47)}
	if err := u2.Upscale(context.Background(), got, in); err != nil {
		t.Fatal(err)
	}
	for i, f := range in {
		want := frame.New(100, 47)
		if err := u1.Upscale(context.Background(), []*frame.Frame{want}, []*frame.Frame{f}); err != nil {
			t.Fatal(err)
		}
		for j, v := range got[i].Pix {
			if v != want.Pix[j] {
				t.Fatalf("frame %d sample %d: %v batched, %v alone", i, j, v, want.Pix[j])
			}
		}
	}
}
