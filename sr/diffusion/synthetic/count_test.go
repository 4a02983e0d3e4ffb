package synthetic

import (
	"path/filepath"
	"testing"
)

func graphCost(t *testing.T, path string, shapes map[string][]int64) Cost {
	t.Helper()
	c, unc, err := GraphCost(path, shapes)
	if err != nil {
		t.Fatal(err)
	}
	if unc != 0 {
		t.Errorf("%s: %d MatMul/Conv nodes without inferred shapes", filepath.Base(path), unc)
	}
	return c
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
	shapes, closed := c.Shapes(B, h, w), c.ClosedForm(B, h, w)
	for _, f := range []string{FileDenoiser, FileDecoder, FileEncoder, FileSAM, FileSAMKV, FileDenoiserK} {
		checkCost(t, f, graphCost(t, filepath.Join(dir, f), shapes[f]), closed[f])
	}
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
