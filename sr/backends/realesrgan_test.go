package backends

import (
	"context"
	"errors"
	"image"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// TestOpenRealESRGAN opens the default model the way the CLI does and upscales 2x (model at 4x,
// then resampled).
func TestOpenRealESRGAN(t *testing.T) {
	ort.TestLoad(t)
	var notices []string
	b, err := Open(Default, Options{Logf: func(f string, a ...any) { notices = append(notices, f) }})
	if errors.Is(err, realesrgan.ErrModelNotFound) {
		ort.TestSkip(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Name() != Default {
		t.Errorf("name %q", b.Name())
	}
	if rb := b.(*realesrgan.Backend); rb.Device() == ort.DeviceCPU && len(notices) != 1 {
		t.Errorf("auto device fell back to the CPU with notices %q, want one", notices)
	}
	in := image.Pt(24, 16)
	u, err := b.NewUpscaler(sr.Spec{In: in, Out: in.Mul(2)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	src, dst := frame.New(in.X, in.Y), frame.New(2*in.X, 2*in.Y)
	for i := range src.Pix {
		src.Pix[i] = float32(i%256) / 255
	}
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	var tiles int64 = -1
	b.(sr.Counter).Counters(func(k string, v int64) {
		if k == "tiles" {
			tiles = v
		}
	})
	if tiles != 1 {
		t.Errorf("tiles counter %d, want 1", tiles)
	}
}

func TestOpenRealESRGANErrors(t *testing.T) {
	if _, err := Open(Default, Options{RealESRGAN: realesrgan.Options{Precision: "int4"}}); err == nil {
		t.Error("precision int4 accepted")
	}
	if _, err := Open(Default, Options{Diffusion: diffusion.Options{Sampler: "euler"}}); err == nil {
		t.Error("an invalid diffusion option is accepted with another model")
	}
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "m.onnx"), Options{Runtime: ort.Runtime{Library: filepath.Join(dir, "lib.so")}}); !errors.Is(err, ort.ErrLibraryNotFound) {
		t.Errorf("missing library: %v", err)
	}
	if _, err := Open("realesrgan-x2", Options{}); !errors.Is(err, sr.ErrUnknownModel) {
		t.Errorf("unknown model: %v", err)
	}
}
