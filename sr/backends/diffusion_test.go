package backends

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// TestOpenDiffusion opens an oracle bundle as --model diffusion:DIR and runs a frame through the
// sr.Backend contract at scale 1: the oracle returns its input.
func TestOpenDiffusion(t *testing.T) {
	ort.TestLoad(t)
	dir := t.TempDir()
	if err := oracle.Write(dir, oracle.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("diffusion:"+dir, Options{Diffusion: diffusion.Options{Prompt: "a cat"}}); !errors.Is(err, diffusion.ErrPrompt) {
		t.Errorf("prompt without a text encoder: %v", err)
	}
	if _, err := Open("diffusion:", Options{}); err == nil || !strings.Contains(err.Error(), "bundle directory") {
		t.Errorf("empty dir: %v", err)
	}
	b, err := Open("diffusion:"+dir, Options{Runtime: ort.Runtime{Device: ort.DeviceCPU}, Diffusion: diffusion.Options{Steps: 3, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Name(), "diffusion:") {
		t.Errorf("name %q", b.Name())
	}
	src := frame.New(640, 512)
	for i := range src.Pix {
		src.Pix[i] = float32(0.5 + 0.4*math.Sin(float64(i)*0.001))
	}
	u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := frame.New(640, 512)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	var worst float64 // NaN once any sample is NaN
	for i := range dst.Pix {
		worst = math.Max(worst, math.Abs(float64(dst.Pix[i]-src.Pix[i])))
	}
	mediatest.AtMost(t, "max |output - input|", worst, 1e-4)
	c, ok := b.(sr.Counter)
	if !ok {
		t.Fatal("not an sr.Counter")
	}
	got := map[string]int64{}
	c.Counters(func(k string, v int64) { got[k] = v })
	if got["frames"] != 1 || got["sam_encoder_runs"] != 1 || got["denoiser_runs"] != 3 {
		t.Errorf("counters %v", got)
	}
}
