package diffusion

import (
	"context"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// testFrame returns a w x h frame from a seeded RNG: smooth gradients, a few sinusoids and a little
// noise, in [0.02, 0.98].
func testFrame(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	f := frame.New(w, h)
	for c := range 3 {
		p := f.Plane(c)
		fx, fy := 0.01+0.05*r.Float64(), 0.01+0.05*r.Float64()
		ph := r.Float64() * 6
		for y := range h {
			for x := range w {
				v := 0.5 + 0.25*math.Sin(fx*float64(x)+ph)*math.Cos(fy*float64(y)) +
					0.15*float64(x)/float64(w) - 0.1*float64(y)/float64(h) + 0.05*r.NormFloat64()
				p[y*w+x] = float32(min(max(v, 0.02), 0.98))
			}
		}
	}
	return f
}

// psnr returns the PSNR of a against b (both [0,1]) in dB: +Inf when they are equal, NaN when
// their lengths differ or a sample is NaN, so a gate written !(p >= x) fails on either.
func psnr(a, b []float32) float64 {
	if len(a) != len(b) || len(a) == 0 {
		return math.NaN()
	}
	var se float64
	for i := range a {
		d := float64(a[i] - b[i])
		se += d * d
	}
	mse := se / float64(len(a))
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(1/mse)
}

var bundles sync.Map // oracle options -> dir

// oracleBundle writes (once per test binary) an oracle bundle and returns its directory.
func oracleBundle(t testing.TB, o oracle.Options) string {
	t.Helper()
	if d, ok := bundles.Load(o); ok {
		return d.(string)
	}
	dir := filepath.Join(sharedTemp(t), o.Kind+map[bool]string{true: "16"}[o.FP16]+map[bool]string{true: "t"}[o.Text]+map[bool]string{true: "n"}[o.NoEncoder])
	if err := oracle.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	bundles.Store(o, dir)
	return dir
}

// openOracle loads ONNX Runtime (or skips) and opens an oracle bundle with cfg on the CPU, or on
// the device $UGCSR_TEST_DEVICE names (e.g. cuda, for a run on a GPU machine).
func openOracle(t testing.TB, o oracle.Options, cfg Config) *Backend {
	t.Helper()
	ort.TestLoad(t)
	cfg.Device = ort.DeviceCPU
	if d := os.Getenv("UGCSR_TEST_DEVICE"); d != "" {
		dev, err := ort.ParseDevice(d)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Device = dev
	}
	cfg.Logf = t.Logf
	b, err := Open(oracleBundle(t, o), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// upscale runs one frame through a fresh upscaler of b and returns the output.
func upscale(t testing.TB, b *Backend, src *frame.Frame, out image.Point) *frame.Frame {
	t.Helper()
	u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := frame.New(out.X, out.Y)
	start := time.Now()
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%dx%d -> %dx%d in %v", src.W, src.H, out.X, out.Y, time.Since(start).Round(time.Millisecond))
	return dst
}

func TestOracleLossless(t *testing.T) {
	for _, c := range []struct {
		name    string
		w, h    int
		sampler Sampler
		start   StartPoint
	}{
		{"untiled/ddpm/noise", 512, 512, SamplerDDPM, StartNoise},
		{"untiled/ddpm/lr", 512, 512, SamplerDDPM, StartLR},
		{"untiled/ddim/noise", 512, 512, SamplerDDIM, StartNoise},
		{"untiled/ddim/lr", 512, 512, SamplerDDIM, StartLR},
		{"tiled/ddpm/noise", 1024, 776, SamplerDDPM, StartNoise},
		{"tiled/ddpm/lr", 1024, 776, SamplerDDPM, StartLR},
		{"tiled/ddim/noise", 1024, 776, SamplerDDIM, StartNoise},
		{"tiled/ddim/lr", 1024, 776, SamplerDDIM, StartLR},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 4, Sampler: c.sampler, StartPoint: c.start, Seed: 1}})
			src := testFrame(c.w, c.h, 3)
			dst := upscale(t, b, src, src.Size())
			p := psnr(dst.Pix, src.Pix)
			t.Logf("PSNR %.1f dB", p)
			if !(p >= 40) {
				t.Errorf("PSNR %.1f dB < 40", p)
			}
		})
	}
}

// TestOracleLinear4 runs the real latent shape [1,4,h,w]: the runtime must return the input
// projected onto the oracle VAE's subspace, computed here independently: per 8x8 patch of the
// [-1,1] image, the channel means z_c and the mean z_3 of sign*luminance (sign +1 on the left
// half), reconstructed as z_c + sign*z_3.
func TestOracleLinear4(t *testing.T) {
	for _, sz := range [][2]int{{512, 512}, {1024, 776}} {
		b := openOracle(t, oracle.Options{Kind: oracle.Linear4}, Config{Options: Options{Steps: 4, Seed: 3, ColorFix: "none"}})
		src := testFrame(sz[0], sz[1], 8)
		dst := upscale(t, b, src, src.Size())
		p := psnr(dst.Pix, projection(src))
		t.Logf("%dx%d: PSNR %.1f dB against the projection (%.1f dB against the input)", src.W, src.H, p, psnr(dst.Pix, src.Pix))
		if !(p >= 40) {
			t.Errorf("%dx%d: PSNR %.1f dB < 40", src.W, src.H, p)
		}
	}
}

// projection computes the linear4 oracle's expected output independently of its graphs.
func projection(src *frame.Frame) []float32 {
	W, H := src.W, src.H
	want := make([]float32, len(src.Pix))
	n := W * H
	for by := 0; by < H; by += 8 {
		for bx := 0; bx < W; bx += 8 {
			var z [4]float64
			for y := by; y < by+8; y++ {
				for x := bx; x < bx+8; x++ {
					s := 1.0
					if x-bx >= 4 {
						s = -1
					}
					var lum float64
					for c := range 3 {
						v := 2*float64(src.Pix[c*n+y*W+x]) - 1
						z[c] += v / 64
						lum += v / 3
					}
					z[3] += s * lum / 64
				}
			}
			for y := by; y < by+8; y++ {
				for x := bx; x < bx+8; x++ {
					s := 1.0
					if x-bx >= 4 {
						s = -1
					}
					for c := range 3 {
						v := (z[c]+s*z[3])/2 + 0.5
						want[c*n+y*W+x] = float32(min(max(v, 0), 1))
					}
				}
			}
		}
	}
	return want
}

// TestOracleLinear4FP16Text combines the options: the 4-channel latent in fp16 graphs, no VAE
// encoder (start point noise), a prompt through the text encoder and the tagger, guidance off.
func TestOracleLinear4FP16Text(t *testing.T) {
	b := openOracle(t, oracle.Options{Kind: oracle.Linear4, FP16: true, Text: true, NoEncoder: true},
		Config{Options: Options{Steps: 3, Seed: 2, ColorFix: "none", Prompt: "a test", Guidance: 1}})
	src := testFrame(640, 512, 12)
	p := psnr(upscale(t, b, src, src.Size()).Pix, projection(src))
	t.Logf("PSNR %.1f dB against the projection", p)
	if !(p >= 40) {
		t.Errorf("PSNR %.1f dB < 40", p)
	}
}

// TestOracleFP16 runs the lossless oracle with float16 graph inputs and outputs.
func TestOracleFP16(t *testing.T) {
	b := openOracle(t, oracle.Options{FP16: true}, Config{Options: Options{Steps: 4, Seed: 1}})
	src := testFrame(512, 512, 5)
	p := psnr(upscale(t, b, src, src.Size()).Pix, src.Pix)
	t.Logf("PSNR %.1f dB", p)
	if !(p >= 40) {
		t.Errorf("PSNR %.1f dB < 40", p)
	}
}

// TestOracleTiledFault repeats the tile fault in ONNX Runtime.
func TestOracleTiledFault(t *testing.T) {
	b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1}})
	src := testFrame(1024, 776, 2)
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.hooks = &hooks{pasteShift: 1}
	p := psnr(run1(t, u, src).Pix, src.Pix)
	t.Logf("tile one latent off: PSNR %.1f dB", p)
	if !(p <= 30) {
		t.Errorf("tile one latent off: PSNR %.1f dB, want a failure (< 30)", p)
	}
}

// TestOracle720p is the video case: a 1280x720 frame at scale 1 (3 tiles of 90 latents), guidance
// on (batch 2), 4 steps. It must take seconds, not minutes, on a CPU.
func TestOracle720p(t *testing.T) {
	b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 4, Seed: 1}})
	src := testFrame(1280, 720, 9)
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	run1(t, u, src) // warm up
	start := time.Now()
	dst := run1(t, u, src)
	el := time.Since(start)
	p := psnr(dst.Pix, src.Pix)
	t.Logf("1280x720, 4 steps, CFG: %v per frame, PSNR %.1f dB", el.Round(time.Millisecond), p)
	if !(p >= 40) {
		t.Errorf("PSNR %.1f dB < 40", p)
	}
	if el > 20*time.Second {
		t.Errorf("%v per frame", el)
	}
}

// TestOracleTiledVAE covers a frame wide enough (2000 px, 250 latents) for the tiled VAE encoder
// and decoder.
func TestOracleTiledVAE(t *testing.T) {
	b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1, Guidance: 1}})
	src := testFrame(2000, 520, 4)
	p := psnr(upscale(t, b, src, src.Size()).Pix, src.Pix)
	t.Logf("PSNR %.1f dB", p)
	if !(p >= 40) {
		t.Errorf("PSNR %.1f dB < 40", p)
	}
}

// TestOracleScale2 checks the geometry end to end: 160x120 -> 320x240 goes through the bicubic
// chain 160x120 -> 341x256 -> 682x512 -> 680x512 (the condition image, which the oracle returns),
// then 680x512 -> 320x240.
func TestOracleScale2(t *testing.T) {
	b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1}})
	src := testFrame(160, 120, 4)
	dst := upscale(t, b, src, image.Pt(320, 240))
	cur := src
	for _, s := range []image.Point{{341, 256}, {682, 512}, {680, 512}, {320, 240}} {
		next := frame.New(s.X, s.Y)
		if err := resample.Resize(resample.Bicubic, next, cur); err != nil {
			t.Fatal(err)
		}
		cur = next
	}
	p := psnr(dst.Pix, cur.Pix)
	t.Logf("PSNR %.1f dB against the bicubic chain", p)
	if !(p >= 40) {
		t.Errorf("PSNR %.1f dB < 40", p)
	}
}

// TestOraclePrompt runs the tagger and the text encoder: a red frame is tagged "red", the user
// prompt follows, and the tagger and text encoder run once per scene (the second frame of the scene
// reuses the per-scene constants).
func TestOraclePrompt(t *testing.T) {
	b := openOracle(t, oracle.Options{Text: true}, Config{Options: Options{Steps: 2, Seed: 1, Prompt: "a photo"}})
	src := frame.New(512, 512)
	for i := range src.Pix {
		src.Pix[i] = map[bool]float32{true: 0.9, false: 0.1}[i < 512*512]
	}
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := run1(t, u, src)
	run1(t, u, src)
	want := "red, a photo,clean, high-resolution, 8k, ultra-detailed, ultra-realistic"
	if u.lastText == nil || u.lastText.prompt != want {
		t.Errorf("prompt %+v, want %q", u.lastText, want)
	}
	got := map[string]int64{}
	b.Counters(func(k string, v int64) { got[k] = v })
	if got["text_encoder_runs"] != 1 || got["tagger_runs"] != 1 || got["sam_cache_hits"] != 1 {
		t.Errorf("counters %v", got)
	}
	if p := psnr(dst.Pix, src.Pix); !(p >= 40) {
		t.Errorf("PSNR %.1f dB", p)
	}
}
