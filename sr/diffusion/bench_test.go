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
	r, err := b.bench(context.Background(), BenchOptions{Tiles: []int{32, 90}, Runs: 2, Frame: image.Pt(1280, 720)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	// The linear4 denoiser's one Conv encodes the condition: batch 2 x 4 x 32 x 32 outputs, 3x8x8 each.
	if len(r.Tiles) != 2 || r.Batch != 2 {
		t.Fatalf("%+v", r)
	}
	if t0 := r.Tiles[0]; t0.MACs != 2*4*32*32*192 || t0.MACSource != "graph" || t0.FrameTiles != 0 || !(t0.StepTime > 0) || t0.Skipped != "" {
		t.Errorf("tile 32: %+v", t0)
	}
	// A 1280x720 frame at scale 1 is a 90x160 latent: three 90x90 windows per step.
	if t1 := r.Tiles[1]; t1.FrameTiles != 3 || t1.FrameStepTime != 3*t1.StepTime || t1.MACs != 2*4*90*90*192 {
		t.Errorf("tile 90: %+v", t1)
	}
	// A memory budget below the estimate skips the tile and says what it needs.
	r, err = b.bench(context.Background(), BenchOptions{Tiles: []int{32}, Runs: 1, MemLimit: 1000})
	if err != nil || r.Tiles[0].Skipped == "" || r.Tiles[0].StepTime != 0 {
		t.Errorf("budget 1000 bytes: %+v, %v", r, err)
	}
	// The frame's graphs: the decoder on the 90x160 latent of a 1280x720 frame (its ConvTranspose:
	// every input value feeds 3x8x8 outputs), SAM once.
	r, err = b.bench(context.Background(), BenchOptions{Tiles: []int{8}, Runs: 1, Frame: image.Pt(1280, 720), FrameGraphs: true})
	if err != nil || r.DecoderLatent != [2]int{90, 160} || r.DecoderMACs != 4*90*160*192 || !(r.DecoderTime > 0) || !(r.SAMTime > 0) || r.SAMMACs <= 0 {
		t.Errorf("frame graphs: %+v, %v", r, err)
	}
	// Decoder (ConvTranspose) MACs: every input value feeds 3x8x8 outputs.
	rep, err := onnx.CountMACs(filepath.Join(oracleBundle(t, oracle.Options{Kind: oracle.Linear4}), "vae_decoder.onnx"),
		map[string][]int64{"latent": {1, 4, 10, 20}})
	if err != nil || rep.MACs != 4*10*20*192 {
		t.Errorf("decoder: %+v %v", rep, err)
	}
}
