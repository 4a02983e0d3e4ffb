package synthetic_test

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/diffusion/synthetic"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

var (
	reducedOnce sync.Once
	reducedDir  string
	reducedErr  error
)

// reducedBundle writes the reduced bundle (with the cached-K/V variant) once per test binary.
func reducedBundle(t *testing.T) string {
	t.Helper()
	reducedOnce.Do(func() {
		reducedDir, reducedErr = os.MkdirTemp("", "synthetic-reduced-")
		if reducedErr == nil {
			_, reducedErr = synthetic.Write(reducedDir, synthetic.Options{Config: synthetic.Reduced(), Seed: 7, KV: true})
		}
	})
	if reducedErr != nil {
		t.Fatal(reducedErr)
	}
	return reducedDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if reducedDir != "" {
		os.RemoveAll(reducedDir)
	}
	os.Exit(code)
}

// runFrame opens the bundle in dir with every check (manifest, graph signatures in ONNX Runtime,
// external data), runs one frame through it (two steps, guidance off: batch 1, to keep it short;
// TestSAMKVSameOutput runs batch 2) and returns the output and the backend's counters.
func runFrame(t *testing.T, dir string, src *frame.Frame) (*frame.Frame, map[string]int64) {
	t.Helper()
	b, err := diffusion.Open(dir, diffusion.Config{Options: diffusion.Options{Steps: 2, Seed: 3, Guidance: 0.9},
		Runtime: ort.Runtime{Device: ort.DeviceCPU}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	u, err := b.NewUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	dst := frame.New(src.W, src.H)
	if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	b.Counters(func(k string, v int64) { counts[k] = v })
	return dst, counts
}

// TestRuntimeRunsReduced: the runtime runs a frame through the reduced bundle: SAM, the
// denoiser's steps, the VAE decoder; the output is in range and not flat. With the cached variant
// in the bundle it projects the SAM keys and values once (sam_kv) and runs denoiser_kv, and the
// frame comes out as with the plain denoiser (a bundle without the variant, same weights).
func TestRuntimeRunsReduced(t *testing.T) {
	ort.TestLoad(t)
	src := frame.New(64, 48)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range src.Pix {
		src.Pix[i] = rng.Float32()
	}
	plainDir := t.TempDir()
	if _, err := synthetic.Write(plainDir, synthetic.Options{Config: synthetic.Reduced(), Seed: 7}); err != nil {
		t.Fatal(err)
	}
	plain, pc := runFrame(t, plainDir, src)
	cached, cc := runFrame(t, reducedBundle(t), src)
	for name, f := range map[string]*frame.Frame{"plain": plain, "cached": cached} {
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range f.Pix {
			if !(v >= 0 && v <= 1) {
				t.Fatalf("%s: output value %v outside [0,1]", name, v)
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		if !(hi-lo > 0.01) {
			t.Errorf("%s: output is flat: %v..%v", name, lo, hi)
		}
	}
	for name, c := range map[string]map[string]int64{"plain": pc, "cached": cc} {
		if c["denoiser_runs"] != 2 || c["sam_encoder_runs"] != 1 || c["vae_decoder_runs"] != 1 {
			t.Errorf("%s: counters %v: want 2 denoiser runs (one untiled window, 2 steps), 1 SAM, 1 decoder", name, c)
		}
	}
	if pc["sam_kv_runs"] != 0 || cc["sam_kv_runs"] != 1 {
		t.Errorf("sam_kv runs: plain %d, cached %d; want 0 and 1", pc["sam_kv_runs"], cc["sam_kv_runs"])
	}
	var maxd float64
	for i := range plain.Pix {
		maxd = max(maxd, math.Abs(float64(plain.Pix[i]-cached.Pix[i])))
	}
	// The latent is kept in fp16 between steps: allow a few fp16 steps of the output's range.
	if !(maxd <= 1e-3) {
		t.Errorf("cached K/V frame differs from the plain one by up to %g", maxd)
	}
	t.Logf("cached vs plain: max difference %g", maxd)
}

// TestSAMKVSameOutput: the cached variant (sam_kv once, then denoiser_kv) gives the plain
// denoiser's output on the same inputs, with guidance (batch 2, the keys and values broadcast).
func TestSAMKVSameOutput(t *testing.T) {
	ort.TestLoad(t)
	dir := reducedBundle(t)
	c := synthetic.Reduced()
	const B, h, w = 2, 12, 16
	run := func(file string, ins map[string]*ort.Tensor, out string, shape ...int64) []float32 {
		t.Helper()
		var names []string
		var ts []*ort.Tensor
		for n, tt := range ins {
			names, ts = append(names, n), append(ts, tt)
		}
		s, err := ort.NewSession(ort.Model{Path: filepath.Join(dir, file)}, ort.Config{Device: ort.DeviceCPU, Inputs: names, Outputs: []string{out}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		dt := ort.Float16
		if out == "sam_kv" {
			dt = ort.Float32 // the compute type
		}
		o, err := ort.NewTensor(dt, shape...)
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		if err := s.Run(context.Background(), ts, []*ort.Tensor{o}); err != nil {
			t.Fatal(err)
		}
		if dt == ort.Float32 {
			return append([]float32(nil), o.Float32()...)
		}
		return halfs(o.Float16())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	tensor := func(shape ...int64) *ort.Tensor {
		tt, err := ort.NewTensor(ort.Float16, shape...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tt.Close() })
		for i := range tt.Float16() {
			tt.Float16()[i] = f16(float32(rng.NormFloat64()))
		}
		return tt
	}
	ts, err := ort.NewTensor(ort.Int64, B)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	ts.Int64()[0], ts.Int64()[1] = 981, 981
	sample, text := tensor(B, 4, h, w), tensor(B, int64(c.TextLen), int64(c.TextWidth))
	cond := tensor(B, 3, 8*h, 8*w)
	sam1 := tensor(1, int64(c.SAMTokens), int64(c.SAMWidth))
	sam2 := tensor(B, int64(c.SAMTokens), int64(c.SAMWidth)) // both halves: the same tokens
	copy(sam2.Float16(), sam1.Float16())
	copy(sam2.Float16()[len(sam1.Float16()):], sam1.Float16())

	plain := run(synthetic.FileDenoiser, map[string]*ort.Tensor{"sample": sample, "timestep": ts,
		"encoder_hidden_states": text, "sam_hidden_states": sam2, "controlnet_cond": cond}, "noise_pred", B, 4, h, w)
	n := c.SAMKVCost().Outputs
	kv := run(synthetic.FileSAMKV, map[string]*ort.Tensor{"sam_hidden_states": sam1}, "sam_kv", 1, n)
	kvt, err := ort.NewTensor(ort.Float32, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	defer kvt.Close()
	copy(kvt.Float32(), kv)
	cached := run(synthetic.FileDenoiserK, map[string]*ort.Tensor{"sample": sample, "timestep": ts,
		"encoder_hidden_states": text, "sam_kv": kvt, "controlnet_cond": cond}, "noise_pred", B, 4, h, w)

	if len(plain) != len(cached) || len(plain) != B*4*h*w {
		t.Fatalf("%d vs %d outputs", len(plain), len(cached))
	}
	var maxd, maxv float64
	for i := range plain {
		maxd = max(maxd, math.Abs(float64(plain[i]-cached[i])))
		maxv = max(maxv, math.Abs(float64(plain[i])))
	}
	// Both round the output to fp16 (its step is 2^-10 of the value): allow one step.
	if !(maxd <= maxv/1024) || !(maxv > 0) {
		t.Errorf("cached K/V output differs by up to %g (outputs up to %g)", maxd, maxv)
	}
	t.Logf("max difference %g, max |output| %g", maxd, maxv)
}

func f16(v float32) uint16 { return onnx.Float32ToFloat16(v) }

func halfs(h []uint16) []float32 {
	out := make([]float32, len(h))
	for i, v := range h {
		out[i] = onnx.Float16ToFloat32(v)
	}
	return out
}
