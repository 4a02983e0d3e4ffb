package diffusion

import (
	"context"
	"image"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/onnx"
)

func TestBench(t *testing.T) {
	b := openOracle(t, oracle.Options{Kind: oracle.Linear4}, Config{})
	r, err := b.bench(context.Background(), BenchOptions{Tile: 32, Runs: 2, Frame: image.Pt(1280, 720)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	// The linear4 denoiser's one Conv encodes the condition: batch 2 x 4 x 32 x 32 outputs, 3x8x8 each.
	if r.MACs != 2*4*32*32*192 || r.MACSource != "graph" || r.Batch != 2 || r.FrameTiles != 3 || r.StepTime <= 0 {
		t.Errorf("%+v", r)
	}
	// Decoder (ConvTranspose) MACs: every input value feeds 3x8x8 outputs.
	rep, err := onnx.CountMACs(filepath.Join(oracleBundle(t, oracle.Options{Kind: oracle.Linear4}), "vae_decoder.onnx"),
		map[string][]int64{"latent": {1, 4, 10, 20}})
	if err != nil || rep.MACs != 4*10*20*192 {
		t.Errorf("decoder: %+v %v", rep, err)
	}
}
