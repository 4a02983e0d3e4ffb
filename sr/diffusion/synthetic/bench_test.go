package synthetic_test

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/diffusion/synthetic"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// TestFullBench writes the full-size bundle into $UGCSR_SYNTHETIC_BENCH (or reuses the one there)
// and times its denoiser with guidance (batch 2) and without (batch 1) on 64, 90 and 96 latent
// tiles, with the cached SAM K/V variant. It is the GPU check's (scripts/gpu-check.sh), opt-in
// because the bundle is several GB: on $UGCSR_TEST_DEVICE cuda the bundle computes in fp16 (3.2 GB
// of fp16 weights), elsewhere in fp32 (fp32 weights, 6.5 GB). $UGCSR_SYNTHETIC_STEPS sets the timed
// steps per tile (default 5), $UGCSR_SYNTHETIC_TILES the tiles (comma-separated), and
// $UGCSR_SYNTHETIC_CONFIG=reduced the reduced configuration (the script's dry run on a CPU).
func TestFullBench(t *testing.T) {
	dir := os.Getenv("UGCSR_SYNTHETIC_BENCH")
	if dir == "" {
		t.Skip("set UGCSR_SYNTHETIC_BENCH=DIR to write the full-size bundle there and time it")
	}
	ort.TestLoad(t)
	dev := ort.DeviceCPU
	if d := os.Getenv("UGCSR_TEST_DEVICE"); d != "" {
		var err error
		if dev, err = ort.ParseDevice(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := ort.TryDevice(context.Background(), dev); err != nil {
		t.Fatalf("%v: %v (the bundle is not written)", dev, err) // before several GB are written for nothing
	}
	o := synthetic.Options{Config: synthetic.Full(), Seed: 1, KV: true, Weights: onnx.Float, Compute: onnx.Float}
	if os.Getenv("UGCSR_SYNTHETIC_CONFIG") == "reduced" {
		o.Config = synthetic.Reduced()
	}
	tiles := []int{64, 90, 96}
	if v := os.Getenv("UGCSR_SYNTHETIC_TILES"); v != "" {
		tiles = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("UGCSR_SYNTHETIC_TILES=%q: %v", v, err)
			}
			tiles = append(tiles, n)
		}
	}
	if dev != ort.DeviceCPU {
		o.Weights, o.Compute = onnx.Float16, onnx.Float16
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t0 := time.Now()
		if _, err := synthetic.Write(dir, o); err != nil {
			t.Fatal(err)
		}
		t.Logf("gpu-check: wrote %s (weights %v, compute %v) in %.0f s", o.Config.Name, o.Weights, o.Compute, time.Since(t0).Seconds())
	}
	steps, _ := strconv.Atoi(os.Getenv("UGCSR_SYNTHETIC_STEPS"))
	for _, g := range []float64{8.5, 0.9} {
		t0 := time.Now()
		r, err := diffusion.Bench(context.Background(), dir,
			diffusion.Config{Options: diffusion.Options{Guidance: g}, Runtime: ort.Runtime{Device: dev}, Logf: t.Logf},
			diffusion.BenchOptions{Tiles: tiles, Runs: steps, Frame: image.Pt(1280, 720), MatMul: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(r.String(), "\n") {
			t.Logf("gpu-check: %s", line)
		}
		t.Logf("gpu-check: guidance %v took %.0f s", g, time.Since(t0).Seconds())
	}
}
