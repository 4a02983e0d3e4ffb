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
	s, ts, err := newMatMul(n, threads)
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
		if err := s.Run(ctx, ts[:2], ts[2:]); err != nil {
			return 0, 0, err
		}
		if d := time.Since(t0); i > 0 && d < best {
			best = d
		}
	}
	return 2 * float64(n*n*n) / best.Seconds() / 1e9, best, nil
}

// newMatMul returns a CPU session computing c = a x b for n x n matrices and its tensors a, b, c,
// filled. On error nothing is left open.
func newMatMul(n int64, threads int) (*Session, []*Tensor, error) {
	g := onnx.NewGraph("matmul")
	g.Input("a", onnx.Float, n, n)
	g.Input("b", onnx.Float, n, n)
	g.Output("c", onnx.Float, n, n)
	g.Node("MatMul", []string{"a", "b"}, []string{"c"})
	data, err := g.Marshal(17)
	if err != nil {
		return nil, nil, err
	}
	s, err := NewSession(Model{Data: data}, Config{Device: DeviceCPU, Threads: threads})
	if err != nil {
		return nil, nil, err
	}
	var ts []*Tensor
	for range 3 {
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
