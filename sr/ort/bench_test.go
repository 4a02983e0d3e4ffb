package ort

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestMatMulPeak: the rate is 2n³ FLOPs over the best run, and a done context stops it.
func TestMatMulPeak(t *testing.T) {
	TestLoad(t)
	const n = 128
	gflops, best, err := MatMulPeak(context.Background(), n, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := 2 * n * n * n / best.Seconds() / 1e9
	if best <= 0 || !(math.Abs(gflops-want) <= 1e-9*want) {
		t.Errorf("%.3f GFLOP/s in %v, want %.3f", gflops, best, want)
	}
	t.Logf("%dx%dx%d: %.2f GFLOP/s (%v)", n, n, n, gflops, best)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := MatMulPeak(ctx, n, 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("done ctx: %v", err)
	}
}
