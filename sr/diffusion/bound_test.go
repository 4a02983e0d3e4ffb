package diffusion

import (
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/ort/iobind"
)

// The device sampler (boundSampler) is checked against the host loop on the CPU, where both run
// the same float32 arithmetic; with $UGCSR_TEST_DEVICE=cuda the device sampler runs on the GPU and
// the host loop stays on the CPU, the comparison issue 10 asks for.

// openBackend opens an oracle bundle with the host loop on the CPU (bound false) or with the
// device sampler on $UGCSR_TEST_DEVICE, the CPU by default (bound true).
func openBackend(t testing.TB, o oracle.Options, cfg Config, bound bool) *Backend {
	t.Helper()
	ort.TestLoad(t)
	cfg.Device = ort.DeviceCPU
	cfg.Logf = t.Logf
	if d := os.Getenv("UGCSR_TEST_DEVICE"); d != "" && bound {
		dev, err := ort.ParseDevice(d)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Device = dev
	}
	b, err := Open(oracleBundle(t, o), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.bound = map[bool]boundMode{false: boundOff, true: boundOn}[bound]
	return b
}

// boundCase is one oracle run compared between the host loop and the device sampler.
type boundCase struct {
	name string
	o    oracle.Options
	opt  Options
	src  *frame.Frame
}

func boundCases() []boundCase {
	var cs []boundCase
	for _, c := range []struct {
		kind string
		w, h int
	}{{oracle.Lossless, 512, 512}, {oracle.Lossless, 1024, 776}, {oracle.Linear4, 512, 512}, {oracle.Linear4, 1024, 776}} {
		cs = append(cs, boundCase{fmt.Sprintf("%s/%dx%d/cfg", c.kind, c.w, c.h), oracle.Options{Kind: c.kind},
			Options{Steps: 3, Seed: 4, Guidance: 6}, testFrame(c.w, c.h, 13)})
	}
	for _, c := range []struct {
		w, h     int
		guidance float64
		start    StartPoint
		sampler  Sampler
	}{
		{520, 512, 4, StartNoise, SamplerDDPM},
		{520, 512, 4, StartLR, SamplerDDIM},
		{1024, 968, 4, StartNoise, SamplerDDPM},
		{1024, 968, 4, StartLR, SamplerDDPM},
		{1024, 968, 1, StartNoise, SamplerDDPM},
	} {
		cs = append(cs, boundCase{fmt.Sprintf("cond/%dx%d/guidance%g/%s/%s", c.w, c.h, c.guidance, c.start, c.sampler),
			oracle.Options{Kind: oracle.Cond},
			Options{Steps: 3, Preset: PresetWild, Guidance: c.guidance, StartPoint: c.start, Sampler: c.sampler, Seed: 7, ColorFix: ColorNone},
			condFrame(c.w, c.h, 21)})
	}
	cs = append(cs, boundCase{"lossless-fp16/512x512/cfg", oracle.Options{FP16: true}, Options{Steps: 3, Seed: 2, Guidance: 3}, testFrame(512, 512, 5)})
	return cs
}

// TestBoundMatchesHost runs the oracles (lossless, linear4 and cond; untiled and tiled; guidance on
// and, for cond, off; DDPM and DDIM; both start points; an fp16 graph) through the host loop on the
// CPU and through the device sampler, and compares the outputs and every step's latent.
func TestBoundMatchesHost(t *testing.T) {
	for _, c := range boundCases() {
		t.Run(c.name, func(t *testing.T) {
			var outs [2]*frame.Frame
			var lats [2][][]float32
			for k, bound := range []bool{false, true} {
				b := openBackend(t, c.o, Config{Options: c.opt}, bound)
				u, err := b.newUpscaler(sr.Spec{In: c.src.Size(), Out: c.src.Size()})
				if err != nil {
					t.Fatal(err)
				}
				defer u.Close()
				if (u.bound != nil) != bound {
					t.Fatalf("bound %v: device sampler %v", bound, u.bound != nil)
				}
				u.hooks = &hooks{afterStep: func(i, ts int, x []float32) {
					lats[k] = append(lats[k], append([]float32(nil), x...))
				}}
				outs[k] = run1(t, u, c.src)
			}
			p := psnr(outs[1].Pix, outs[0].Pix)
			var worst float64
			for i := range lats[0] {
				for j, v := range lats[0][i] {
					worst = max(worst, math.Abs(float64(v-lats[1][i][j])))
				}
			}
			t.Logf("device sampler vs host loop: output PSNR %.1f dB, latents off by at most %.3g", p, worst)
			if len(lats[1]) != len(lats[0]) {
				t.Fatalf("%d steps seen, host %d", len(lats[1]), len(lats[0]))
			}
			if !(p >= 60) {
				t.Errorf("output PSNR %.1f dB < 60", p)
			}
		})
	}
}

// TestBoundBytes counts what crosses between host and device on the cond oracle, tiled, with
// guidance: nothing during a step, the latent once at the end, and before the first step exactly
// the contexts (first frame only), the schedule (first frame only), the condition windows and the
// frame's noise.
func TestBoundBytes(t *testing.T) {
	opt := Options{Steps: 4, Preset: PresetWild, Guidance: 4, Seed: 7, ColorFix: ColorNone}
	b := openBackend(t, oracle.Options{Kind: oracle.Cond}, Config{Options: opt}, true)
	src := condFrame(1024, 968, 3)
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	n := int64(u.c * u.h * u.w)
	B := int64(u.batch)
	T, D := u.samShape()
	cond := int64(len(u.plan.tiles)) * B * 3 * 64 * int64(u.plan.tiles[0].size*u.plan.tiles[0].size)
	noise := (1 + 3) * n * 4 // the start latent, and 3 of the 4 steps add noise
	sched := int64(opt.Steps)*B*8 + int64(opt.Steps)*3*4
	scene := B*int64(b.textL*b.textE)*4 + B*int64(T*D)*4
	for f := range 2 {
		src.Index = int64(f)
		run1(t, u, src)
		st := u.bound.stats
		want := cond*4 + noise
		if f == 0 {
			want += sched + scene
		}
		t.Logf("frame %d: before the steps %+v, per step %+v, at the end %+v", f, st.setup, st.steps, st.final)
		if st.setup.Up != want || st.setup.Down != 0 {
			t.Errorf("frame %d: %+v before the first step, want %d bytes up", f, st.setup, want)
		}
		if len(st.steps) != opt.Steps {
			t.Errorf("frame %d: %d steps counted", f, len(st.steps))
		}
		for i, s := range st.steps {
			if s.Bytes() > 1024 {
				t.Errorf("frame %d step %d: %d bytes crossed (> 1 KiB)", f, i, s.Bytes())
			}
		}
		if st.final.Down != n*4 || st.final.Up != 0 {
			t.Errorf("frame %d: %+v at the end, want the latent (%d bytes) down", f, st.final, n*4)
		}
	}
}

// TestBoundProfile profiles the device sampler's sessions over one frame: every run shows up, and
// no node copies data between devices. On the CPU that holds by construction; on CUDA it is the
// check that nothing in the step graphs or the denoiser falls back to the CPU.
func TestBoundProfile(t *testing.T) {
	opt := Options{Steps: 3, Preset: PresetWild, Guidance: 4, Seed: 7, ColorFix: ColorNone}
	b := openBackend(t, oracle.Options{Kind: oracle.Cond}, Config{Options: opt}, true)
	b.boundCfg.profile = t.TempDir() + "/bound"
	src := condFrame(1024, 968, 3)
	u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	run1(t, u, src)
	files, err := u.bound.endProfiling()
	if err != nil {
		t.Fatal(err)
	}
	tiles := len(u.plan.tiles)
	for name, runs := range map[string]int{"denoiser": opt.Steps * tiles, "split": opt.Steps, "update": opt.Steps} {
		p, err := iobind.ReadProfileFile(files[name])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %v; providers %v", name, p, p.Providers)
		if p.Runs != runs || p.Nodes == 0 {
			t.Errorf("%s: %d runs and %d node executions profiled, want %d runs", name, p.Runs, p.Nodes, runs)
		}
		if p.CopyNodes() != 0 {
			t.Errorf("%s: copy nodes %v", name, p.Copies)
		}
	}
}
