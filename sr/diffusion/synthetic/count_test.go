package synthetic

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// graphCost reads a written graph and returns its parameter count (the initializers' elements)
// and its MACs as onnx.CountMACs infers them for the given input shapes.
func graphCost(t *testing.T, path string, shapes map[string][]int64) Cost {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.ReadModel(b)
	if err != nil {
		t.Fatal(err)
	}
	var p int64
	for _, in := range m.Initializers {
		n := int64(1)
		for _, d := range in.Dims {
			n *= d
		}
		p += n
	}
	r := m.CountMACs(shapes)
	if r.Uncounted != 0 {
		t.Errorf("%s: %d MatMul/Conv nodes without inferred shapes", filepath.Base(path), r.Uncounted)
	}
	return Cost{Params: p, MACs: r.MACs}
}

func checkCost(t *testing.T, what string, got, want Cost) {
	t.Helper()
	if !(got.Params == want.Params && got.MACs == want.MACs && want.Params > 0 && want.MACs > 0) {
		t.Errorf("%s: graph %d params, %d MACs; closed form %d params, %d MACs", what, got.Params, got.MACs, want.Params, want.MACs)
	} else {
		t.Logf("%s: %d params, %.4g GMAC", what, got.Params, float64(got.MACs)/1e9)
	}
}

// countBundle holds each graph of a structure-only bundle of c to the closed forms, at batch B on
// a latent of h x w.
func countBundle(t *testing.T, c Config, B, h, w int) {
	dir := t.TempDir()
	if _, err := Write(dir, Options{Config: c, StructureOnly: true, KV: true}); err != nil {
		t.Fatal(err)
	}
	b, H, W := int64(B), int64(8*h), int64(8*w)
	den := map[string][]int64{
		"sample": {b, 4, int64(h), int64(w)}, "timestep": {b},
		"encoder_hidden_states": {b, int64(c.TextLen), int64(c.TextWidth)},
		"sam_hidden_states":     {b, int64(c.SAMTokens), int64(c.SAMWidth)},
		"controlnet_cond":       {b, 3, H, W},
	}
	unet, cn := c.DenoiserCost(B, h, w)
	checkCost(t, "denoiser", graphCost(t, filepath.Join(dir, FileDenoiser), den), unet.Plus(cn))
	checkCost(t, "vae_decoder", graphCost(t, filepath.Join(dir, FileDecoder), map[string][]int64{"latent": {1, 4, int64(h), int64(w)}}), c.VAEDecoderCost(h, w))
	checkCost(t, "vae_encoder", graphCost(t, filepath.Join(dir, FileEncoder), map[string][]int64{"image": {1, 3, H, W}}), c.VAEEncoderCost(8*h, 8*w))
	checkCost(t, "sam2_encoder", graphCost(t, filepath.Join(dir, FileSAM), nil), c.SAMCost())

	// The cached variant: sam_kv plus denoiser_kv hold the same parameters, and cost the
	// denoiser's MACs minus the SAM key and value projections of each step, which sam_kv does once.
	kv := c.SAMKVCost()
	den["sam_kv"] = []int64{1, kv.Outputs}
	delete(den, "sam_hidden_states")
	gotKV := graphCost(t, filepath.Join(dir, FileSAMKV), map[string][]int64{"sam_hidden_states": {1, int64(c.SAMTokens), int64(c.SAMWidth)}})
	checkCost(t, "sam_kv", gotKV, kv.Cost)
	gotDen := graphCost(t, filepath.Join(dir, FileDenoiserK), den)
	want := unet.Plus(cn)
	want.Params -= kv.Params
	want.MACs -= b * kv.MACs
	checkCost(t, "denoiser_kv", gotDen, want)
}

// TestCountsReduced: the reduced configuration's graphs against the closed forms, at the batch and
// tile of a CFG run of a 90x90-latent window (any size would do: this one has odd levels).
func TestCountsReduced(t *testing.T) { countBundle(t, Reduced(), 2, 90, 90) }

// TestCountsFull: the full-size graphs (written without weights) against the closed forms at
// batch 1 on a 512x512 frame (64x64 latent); the totals are the ones the method note estimates.
func TestCountsFull(t *testing.T) {
	c := Full()
	countBundle(t, c, 1, 64, 64)
	unet, cn := c.DenoiserCost(1, 64, 64)
	t.Logf("UNet %.4g B params, ControlNet %.4g B params, denoiser %.1f GMAC per 512x512 pass (batch 1)",
		float64(unet.Params)/1e9, float64(cn.Params)/1e9, float64(unet.MACs+cn.MACs)/1e9)
}
