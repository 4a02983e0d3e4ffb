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

// TestInt8MatMul checks the int8 GEMM graph's product against one computed here from the
// quantized operands, and its rate formula.
func TestInt8MatMul(t *testing.T) {
	TestLoad(t)
	const n = 16
	s, ts, err := newMatMul(n, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, x := range ts {
			x.Close()
		}
		s.Close()
	}()
	if err := s.Run(context.Background(), ts[:1], ts[1:]); err != nil {
		t.Fatal(err)
	}
	a, c := ts[0].Float32(), ts[1].Float32()
	for i := range n {
		for j := range n {
			want := 0.0
			for k := range n {
				// QuantizeLinear divides by the float32 scale and rounds half to even.
				aq := math.RoundToEven(float64(a[i*n+k] / float32(1.0/255)))
				bq := float64(int8((k*n+j)%255 - 127))
				want += aq / 255 * bq / 127
			}
			if got := float64(c[i*n+j]); !(math.Abs(got-want) <= 1e-4*max(1, math.Abs(want))) {
				t.Fatalf("c[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	gops, best, err := Int8MatMulPeak(context.Background(), 64, 1, 1)
	if err != nil || !(gops > 0) || best <= 0 {
		t.Errorf("Int8MatMulPeak: %v GOP/s in %v, %v", gops, best, err)
	}
}
