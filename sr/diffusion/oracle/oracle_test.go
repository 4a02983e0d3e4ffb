package oracle

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// run runs one graph of a bundle on float32 inputs (int64 for names in ints) and returns output 0.
func run(t *testing.T, path string, ins map[string][]int64, data map[string][]float32, ints map[string][]int64, out []int64) []float32 {
	t.Helper()
	inNames, _, err := ort.Inspect(ort.Model{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(ort.Model{Path: path}, ort.Config{Device: ort.DeviceCPU, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var tin []*ort.Tensor
	for _, io := range inNames {
		dt := ort.Float32
		if ints[io.Name] != nil {
			dt = ort.Int64
		}
		tt, err := ort.NewTensor(dt, ins[io.Name]...)
		if err != nil {
			t.Fatal(err)
		}
		defer tt.Close()
		if dt == ort.Int64 {
			copy(tt.Int64(), ints[io.Name])
		} else {
			copy(tt.Float32(), data[io.Name])
		}
		tin = append(tin, tt)
	}
	to, err := ort.NewTensor(ort.Float32, out...)
	if err != nil {
		t.Fatal(err)
	}
	defer to.Close()
	if err := s.Run(context.Background(), tin, []*ort.Tensor{to}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), to.Float32()...)
}

func ramp(n int, f float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(math.Sin(float64(i) * f))
	}
	return v
}

// TestLosslessGraphs checks the lossless oracle's graphs one by one: the decoder inverts the
// encoder, and the denoiser returns (x - sqrt(abar_t) 0.18215 s2d(2c-1)) / sqrt(1-abar_t) per
// batch element with its own timestep.
func TestLosslessGraphs(t *testing.T) {
	ort.TestLoad(t)
	dir := t.TempDir()
	if err := Write(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	const h, w = 3, 5
	img := ramp(3*64*h*w, 0.37)
	z := run(t, filepath.Join(dir, "vae_encoder.onnx"), map[string][]int64{"image": {1, 3, 8 * h, 8 * w}},
		map[string][]float32{"image": img}, nil, []int64{1, 192, h, w})
	back := run(t, filepath.Join(dir, "vae_decoder.onnx"), map[string][]int64{"latent": {1, 192, h, w}},
		map[string][]float32{"latent": z}, nil, []int64{1, 3, 8 * h, 8 * w})
	for i := range img {
		if back[i] != img[i] {
			t.Fatalf("decoder(encoder(x)) differs at %d: %g vs %g", i, back[i], img[i])
		}
	}
	// Space-to-depth layout: channel (by*8+bx)*3+c holds pixel (8y+by, 8x+bx) of channel c.
	if got, want := z[((2*8+5)*3+1)*h*w+1*w+3], img[1*64*h*w+(8+2)*8*w+24+5]; got != want {
		t.Errorf("s2d layout: %g, want %g", got, want)
	}

	cond := make([]float32, 2*3*64*h*w)
	for i := range cond {
		cond[i] = float32(0.5 + 0.5*math.Cos(float64(i)*0.11))
	}
	x := ramp(2*192*h*w, 0.05)
	ts := []int64{981, 1}
	eps := run(t, filepath.Join(dir, "denoiser.onnx"), map[string][]int64{
		"sample": {2, 192, h, w}, "timestep": {2}, "encoder_hidden_states": {2, 77, 1024},
		"sam_hidden_states": {2, 4096, 512}, "controlnet_cond": {2, 3, 8 * h, 8 * w},
	}, map[string][]float32{
		"sample": x, "encoder_hidden_states": ramp(2*77*1024, 0.3), "sam_hidden_states": ramp(2*4096*512, 0.2),
		"controlnet_cond": cond,
	}, map[string][]int64{"timestep": ts}, []int64{2, 192, h, w})
	ab := AlphaBar()
	n := 192 * h * w
	for b := range 2 {
		for k := range 192 {
			by, bx, c := k/24, k/3%8, k%3
			for y := range h {
				for xx := range w {
					e := 2*float64(cond[b*3*64*h*w+c*64*h*w+(8*y+by)*8*w+8*xx+bx]) - 1
					i := b*n + (k*h+y)*w + xx
					want := (float64(x[i]) - math.Sqrt(ab[ts[b]])*LatentScale*e) / math.Sqrt(1-ab[ts[b]])
					if math.Abs(float64(eps[i])-want) > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("batch %d t=%d channel %d (%d,%d): eps %g, want %g", b, ts[b], k, y, xx, eps[i], want)
					}
				}
			}
		}
	}
}

func TestWriteOptions(t *testing.T) {
	if err := Write(t.TempDir(), Options{Kind: "nope"}); err == nil {
		t.Error("unknown kind accepted")
	}
	dir := t.TempDir()
	if err := Write(dir, Options{Kind: Linear4, FP16: true, Text: true, NoEncoder: true, SAMSize: 256}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		LatentChannels int            `json:"latent_channels"`
		Graphs         map[string]any `json:"graphs"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m.LatentChannels != 4 || m.Graphs["vae_encoder"] != nil || m.Graphs["text_encoder"] == nil || m.Graphs["tagger"] == nil {
		t.Errorf("manifest %s", b)
	}
}
