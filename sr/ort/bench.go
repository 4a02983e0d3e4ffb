package ort

import (
	"context"
	"time"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// MatMulPeak measures ONNX Runtime's fp32 GEMM rate on the CPU: an n x n x n MatMul run once to
// warm up, then reps times (at least once) on threads intra-op threads (0: all cores). It returns
// the best run's rate in GFLOP/s (2n³ FLOPs per run) and its time. ONNX Runtime must be loaded;
// the three n x n tensors cost 12n² bytes.
func MatMulPeak(ctx context.Context, n int64, threads, reps int) (gflops float64, best time.Duration, err error) {
	return matMulPeak(ctx, n, threads, reps, false)
}

// Int8MatMulPeak is MatMulPeak for ONNX Runtime's int8 GEMM (uint8 activations times int8
// weights, the kernels its int8 convolutions use): the graph is float a -> QuantizeLinear ->
// DequantizeLinear -> MatMul with DequantizeLinear(int8 b), which ONNX Runtime fuses into
// MatMulIntegerToFloat. It returns integer multiply-adds as 2n³ "FLOPs" per run.
func Int8MatMulPeak(ctx context.Context, n int64, threads, reps int) (gops float64, best time.Duration, err error) {
	return matMulPeak(ctx, n, threads, reps, true)
}

func matMulPeak(ctx context.Context, n int64, threads, reps int, quantized bool) (gflops float64, best time.Duration, err error) {
	s, ts, err := newMatMul(n, threads, quantized)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		for _, t := range ts {
			t.Close()
		}
		s.Close()
	}()
	best = time.Duration(1 << 62)
	for i := 0; i < max(reps, 1)+1; i++ { // the first run warms up
		t0 := time.Now()
		if err := s.Run(ctx, ts[:len(ts)-1], ts[len(ts)-1:]); err != nil {
			return 0, 0, err
		}
		if d := time.Since(t0); i > 0 && d < best {
			best = d
		}
	}
	return 2 * float64(n*n*n) / best.Seconds() / 1e9, best, nil
}

// newMatMul returns a CPU session computing c = a x b for n x n matrices and its tensors a, b, c,
// filled (quantized: b is a constant int8 initializer and only a and c are tensors). On error
// nothing is left open.
func newMatMul(n int64, threads int, quantized bool) (*Session, []*Tensor, error) {
	g := onnx.NewGraph("matmul")
	g.Input("a", onnx.Float, n, n)
	g.Output("c", onnx.Float, n, n)
	inputs := 2
	if quantized {
		inputs = 1
		w := make([]int8, n*n)
		for i := range w {
			w[i] = int8(i%255 - 127)
		}
		_ = g.Initializer("b.q", onnx.Int8, []int64{n, n}, w)
		_ = g.Initializer("b.scale", onnx.Float, nil, []float32{1.0 / 127})
		_ = g.Initializer("b.zero", onnx.Int8, nil, []int8{0})
		_ = g.Initializer("a.scale", onnx.Float, nil, []float32{1.0 / 255})
		_ = g.Initializer("a.zero", onnx.Uint8, nil, []uint8{0})
		g.Node("QuantizeLinear", []string{"a", "a.scale", "a.zero"}, []string{"a.q"})
		g.Node("DequantizeLinear", []string{"a.q", "a.scale", "a.zero"}, []string{"a.dq"})
		g.Node("DequantizeLinear", []string{"b.q", "b.scale", "b.zero"}, []string{"b"})
		g.Node("MatMul", []string{"a.dq", "b"}, []string{"c"})
	} else {
		g.Input("b", onnx.Float, n, n)
		g.Node("MatMul", []string{"a", "b"}, []string{"c"})
	}
	data, err := g.Marshal(17)
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSession(Model{Data: data}, Config{Device: DeviceCPU, Threads: threads})
	if err != nil {
		return nil, nil, err
	}
	var ts []*Tensor
	for range inputs + 1 {
		t, err := NewTensor(Float32, n, n)
		if err != nil {
			for _, t := range ts {
				t.Close()
			}
			s.Close()
			return nil, nil, err
		}
		ts = append(ts, t)
		for i := range t.Float32() {
			t.Float32()[i] = float32(i%7) * 0.125
		}
	}
	return s, ts, nil
}
