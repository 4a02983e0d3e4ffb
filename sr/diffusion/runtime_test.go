package diffusion

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
)

// newTestUpscaler returns an upscaler of b for frames of src's size (scale 1), closed at cleanup.
func newTestUpscaler(t testing.TB, b *Backend, w, h int) *Upscaler {
	t.Helper()
	u, err := b.newUpscaler(sr.Spec{In: frame.New(w, h).Size(), Out: frame.New(w, h).Size()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

func run1(t testing.TB, u *Upscaler, src *frame.Frame) *frame.Frame {
	t.Helper()
	dst := frame.New(u.spec.Out.X, u.spec.Out.Y)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	return dst
}

// target returns the lossless oracle's latent of a frame: 0.18215 * s2d(2*cond - 1).
func target(f *frame.Frame) []float32 {
	h, w := f.H/8, f.W/8
	pm := make([]float32, len(f.Pix))
	for i, v := range f.Pix {
		pm[i] = 2*v - 1
	}
	e := make([]float32, 192*h*w)
	s2d(e, pm, h, w)
	for i := range e {
		e[i] *= oracle.LatentScale
	}
	return e
}

// TestRuntimeGoOracle runs the whole runtime on the lossless oracle computed in Go (no ONNX
// Runtime): the output must be the input, untiled and tiled, for both samplers and start points.
func TestRuntimeGoOracle(t *testing.T) {
	for _, sz := range [][2]int{{512, 512}, {1024, 776}} {
		src := testFrame(sz[0], sz[1], 11)
		for _, s := range []Sampler{SamplerDDPM, SamplerDDIM} {
			for _, sp := range []StartPoint{StartNoise, StartLR} {
				b := goBackend(t, Config{Options: Options{Steps: 4, Sampler: s, StartPoint: sp, Seed: 5}})
				u := newTestUpscaler(t, b, sz[0], sz[1])
				if p := psnr(run1(t, u, src).Pix, src.Pix); !(p >= 40) {
					t.Errorf("%dx%d %s %s: PSNR %.1f dB < 40", sz[0], sz[1], s, sp, p)
				}
			}
		}
	}
}

// residualStats returns the mean and std of (x - sqrt(abar) E) / sqrt(1 - abar).
func residualStats(x, e []float32, abar float64) (mean, std float64) {
	sa, s1 := math.Sqrt(abar), math.Sqrt(1-abar)
	var s, ss float64
	for i, v := range x {
		r := (float64(v) - sa*float64(e[i])) / s1
		s += r
		ss += r * r
	}
	n := float64(len(x))
	mean = s / n
	return mean, math.Sqrt(ss/n - mean*mean)
}

// checkMarginals runs 10 DDPM steps on the Go oracle and checks after every step that the latent
// is distributed as the forward process says: x_prev = sqrt(abar_prev) E + sqrt(1-abar_prev) n with
// n ~ N(0, I). A correct ancestral step keeps that marginal when x0 is predicted exactly; wrong
// means, variances or timesteps do not.
func checkMarginals(t testing.TB, h *hooks) (worst float64) {
	b := goBackend(t, Config{Options: Options{Steps: 10, StartPoint: StartNoise, Seed: 9}})
	u := newTestUpscaler(t, b, 512, 512)
	src := testFrame(512, 512, 4)
	e := target(src)
	u.hooks = h
	checked := 0
	h.afterStep = func(i, ts int, x []float32) {
		if u.prev[i] < 0 {
			return
		}
		m, s := residualStats(x, e, b.sched.alphaBar(u.prev[i]))
		worst = max(worst, math.Abs(m), math.Abs(s-1))
		checked++
	}
	run1(t, u, src)
	if checked != 9 { // 10 steps, the last one ends at x0
		t.Fatalf("checked %d steps, want 9", checked)
	}
	return worst
}

func TestDDPMMarginals(t *testing.T) {
	w := checkMarginals(t, &hooks{})
	t.Logf("correct sampler: residual mean/std off by at most %.4f", w)
	if !(w <= 0.01) {
		t.Errorf("residual mean or std off by %.4f", w)
	}
	// Wrong samplers must fail the same check.
	for name, bad := range map[string]func(ts, prev int, c stepCoeffs) stepCoeffs{
		"variance for std": func(ts, prev int, c stepCoeffs) stepCoeffs { c.cz *= c.cz; return c },
		"prev is t-1":      func(ts, prev int, c stepCoeffs) stepCoeffs { return ddpmCoeffs(defaultSchedule, ts, ts-1) },
	} {
		w := checkMarginals(t, &hooks{coeffs: bad})
		t.Logf("%s: off by %.4f", name, w)
		if !(w >= 0.05) {
			t.Errorf("%s: not caught (off by %.4f)", name, w)
		}
	}
}

// TestDDIMTrajectory checks the deterministic sampler on the oracle: with x0 predicted exactly the
// predicted noise never changes, so every latent is sqrt(abar_prev) E + sqrt(1-abar_prev) r, r the
// noise the oracle sees in the start latent x_T at the first timestep t0:
// r = (x_T - sqrt(abar_t0) E) / sqrt(1-abar_t0).
func TestDDIMTrajectory(t *testing.T) {
	b := goBackend(t, Config{Options: Options{Steps: 5, Sampler: SamplerDDIM, StartPoint: StartNoise, Seed: 2}})
	u := newTestUpscaler(t, b, 512, 512)
	src := testFrame(512, 512, 6)
	e := target(src)
	n0 := make([]float32, len(e))
	fillNormal(NewNoise(NoisePerFrame, 2, &frame.Frame{}), n0)
	a0 := b.sched.alphaBar(801) // 5 steps: 801, 601, 401, 201, 1
	for j, v := range n0 {
		n0[j] = float32((float64(v) - math.Sqrt(a0)*float64(e[j])) / math.Sqrt(1-a0))
	}
	var worst float64
	checked := 0
	u.hooks = &hooks{afterStep: func(i, ts int, x []float32) {
		checked++
		ap := b.sched.alphaBar(u.prev[i])
		for j, v := range x {
			want := math.Sqrt(ap)*float64(e[j]) + math.Sqrt(1-ap)*float64(n0[j])
			worst = max(worst, math.Abs(float64(v)-want))
		}
	}}
	run1(t, u, src)
	if checked != 5 {
		t.Fatalf("checked %d steps, want 5", checked)
	}
	if !(worst <= 1e-4) {
		t.Errorf("DDIM latent off by %g", worst)
	}
}

// TestNoiseSeeding checks Seed and the noise modes through the first step's latent.
func TestNoiseSeeding(t *testing.T) {
	first := func(cfg Config, index, scene int64) []float32 {
		cfg.Steps, cfg.StartPoint = 2, StartNoise
		b := goBackend(t, cfg)
		u := newTestUpscaler(t, b, 512, 512)
		var x1 []float32
		u.hooks = &hooks{afterStep: func(i, ts int, x []float32) {
			if i == 0 {
				x1 = slices.Clone(x)
			}
		}}
		src := testFrame(512, 512, 1)
		src.Index, src.Scene = index, scene
		run1(t, u, src)
		return x1
	}
	a := first(Config{Options: Options{Seed: 1}}, 3, 0)
	if !slices.Equal(a, first(Config{Options: Options{Seed: 1}}, 3, 0)) {
		t.Error("same seed and frame: different noise")
	}
	if slices.Equal(a, first(Config{Options: Options{Seed: 2}}, 3, 0)) {
		t.Error("different seeds: same noise")
	}
	if slices.Equal(a, first(Config{Options: Options{Seed: 1}}, 4, 0)) {
		t.Error("per-frame: frames 3 and 4 got the same noise")
	}
	s := first(Config{Options: Options{Seed: 1, Noise: "per-scene"}}, 3, 7)
	if !slices.Equal(s, first(Config{Options: Options{Seed: 1, Noise: "per-scene"}}, 40, 7)) {
		t.Error("per-scene: frames of one scene got different noise")
	}
	if slices.Equal(s, first(Config{Options: Options{Seed: 1, Noise: "per-scene"}}, 3, 8)) {
		t.Error("per-scene: scenes 7 and 8 got the same noise")
	}
}

// TestTileFault shows that a tile stitched one latent off its window ruins the tiled output (and
// leaves an untiled frame alone).
func TestTileFault(t *testing.T) {
	b := goBackend(t, Config{Options: Options{Steps: 2, Seed: 1}})
	src := testFrame(1024, 776, 2)
	u := newTestUpscaler(t, b, 1024, 776)
	u.hooks = &hooks{pasteShift: 1}
	if p := psnr(run1(t, u, src).Pix, src.Pix); !(p <= 30) {
		t.Errorf("tile one latent off: PSNR %.1f dB, want a failure (< 30)", p)
	}
	small := testFrame(512, 512, 2)
	u = newTestUpscaler(t, b, 512, 512)
	u.hooks = &hooks{pasteShift: 1}
	if p := psnr(run1(t, u, small).Pix, small.Pix); !(p >= 40) {
		t.Errorf("untiled: PSNR %.1f dB", p)
	}
}

// TestSamplerFault shows that a wrong last step (prev = t-1, so abar_prev = abar_0 instead of 1)
// fails the oracle.
func TestSamplerFault(t *testing.T) {
	for _, s := range []Sampler{SamplerDDPM, SamplerDDIM} {
		b := goBackend(t, Config{Options: Options{Steps: 4, Sampler: s, Seed: 1}})
		src := testFrame(512, 512, 2)
		u := newTestUpscaler(t, b, 512, 512)
		u.hooks = &hooks{coeffs: func(ts, prev int, c stepCoeffs) stepCoeffs {
			if s == SamplerDDIM {
				return ddimCoeffs(defaultSchedule, ts, ts-1)
			}
			return ddpmCoeffs(defaultSchedule, ts, ts-1)
		}}
		if p := psnr(run1(t, u, src).Pix, src.Pix); !(p <= 30) {
			t.Errorf("%s with prev = t-1: PSNR %.1f dB, want a failure (< 30)", s, p)
		}
	}
}

func TestCounters(t *testing.T) {
	b := goBackend(t, Config{Options: Options{Steps: 3, Seed: 1, StartPoint: StartLR}})
	u := newTestUpscaler(t, b, 1024, 776) // 4 tiles
	src := testFrame(1024, 776, 2)
	run1(t, u, src)
	run1(t, u, src)
	got := map[string]int64{}
	b.Counters(func(k string, v int64) { got[k] = v })
	// Both frames belong to scene 0: the SAM2 embedding is computed once and served from the cache.
	want := map[string]int64{"frames": 2, "steps": 6, "denoiser_runs": 24, "sam_encoder_runs": 1,
		"vae_decoder_runs": 2, "vae_encoder_runs": 2, "scene_consts_computed": 1, "sam_cache_hits": 1, "sam_cache_computes": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	m, err := LoadManifest(oracleBundle(t, oracle.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newBackend(m, Config{Options: Options{Prompt: "a cat"}}); !errors.Is(err, ErrPrompt) {
		t.Errorf("prompt without a text encoder: %v", err)
	}
	for _, o := range []Options{{Sampler: "euler"}, {StartPoint: "x"}, {ColorFix: "x"}, {Noise: "x"}, {Steps: 1001}, {Preset: "x"}, {Guidance: -1}, {Guidance: math.NaN()}, {Guidance: math.Inf(1)}} {
		c := Config{Options: o}
		if _, err := newBackend(m, c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	m2, err := LoadManifest(oracleBundle(t, oracle.Options{NoEncoder: true}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newBackend(m2, Config{Options: Options{StartPoint: StartLR}}); err == nil {
		t.Error("start point lr without an encoder accepted")
	}
	b, err := newBackend(m2, Config{})
	if err != nil || b.cfg.StartPoint == StartLR {
		t.Errorf("no encoder: default start point lr (%v)", err)
	}
	// The published runs start from noise, also when the bundle has an encoder.
	if b, err := newBackend(m, Config{}); err != nil || b.cfg.StartPoint == StartLR {
		t.Errorf("with an encoder: default start point lr (%v)", err)
	}
}
