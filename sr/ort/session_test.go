package ort

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// depthToSpaceModel returns a model: y = DepthToSpace(x, blocksize 2, CRD) for x [1,12,-1,-1].
func depthToSpaceModel(t testing.TB) []byte {
	t.Helper()
	g := onnx.NewGraph("d2s")
	g.Input("x", onnx.Float, 1, 12, -1, -1)
	g.Output("y", onnx.Float, 1, 3, -1, -1)
	g.Node("DepthToSpace", []string{"x"}, []string{"y"}, onnx.AttrInt("blocksize", 2), onnx.AttrString("mode", "CRD"))
	b, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTensor(t testing.TB, dt DType, shape ...int64) *Tensor {
	t.Helper()
	x, err := NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestSessionShapes runs one session on two shapes, twice each, reusing the tensors.
func TestSessionShapes(t *testing.T) {
	TestLoad(t)
	s, err := NewSession(Model{Data: depthToSpaceModel(t)}, Config{Device: DeviceCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := fmt.Sprint(s.Inputs(), s.Outputs()); got != "[x] [y]" {
		t.Fatalf("names %s", got)
	}
	probe := newTensor(t, Float32, 1, 12, 3, 5)
	if shapes, err := s.OutputShapes(context.Background(), []*Tensor{probe}); err != nil || fmt.Sprint(shapes) != "[[1 3 6 10]]" {
		t.Fatalf("OutputShapes: %v, %v", shapes, err)
	}
	for _, sz := range [][2]int{{3, 2}, {5, 4}, {3, 2}} {
		h, w := sz[0], sz[1]
		in := newTensor(t, Float32, 1, 12, int64(h), int64(w))
		out := newTensor(t, Float32, 1, 3, int64(2*h), int64(2*w))
		for round := 0; round < 2; round++ {
			x := in.Float32()
			for i := range x {
				x[i] = float32(i + round)
			}
			if err := s.Run(context.Background(), []*Tensor{in}, []*Tensor{out}); err != nil {
				t.Fatal(err)
			}
			// CRD: y[c, 2i+a, 2j+b] = x[c*4 + a*2 + b, i, j]
			y := out.Float32()
			for c := 0; c < 3; c++ {
				for yy := 0; yy < 2*h; yy++ {
					for xx := 0; xx < 2*w; xx++ {
						src := ((c*4+(yy%2)*2+xx%2)*h+yy/2)*w + xx/2
						if got, want := y[(c*2*h+yy)*2*w+xx], x[src]; got != want {
							t.Fatalf("%dx%d round %d: y[%d,%d,%d] = %v, want %v", h, w, round, c, yy, xx, got, want)
						}
					}
				}
			}
		}
	}
}

// TestSessionDTypes feeds and reads float32, float16 and int64 tensors.
func TestSessionDTypes(t *testing.T) {
	TestLoad(t)
	g := onnx.NewGraph("dtypes")
	g.Input("f", onnx.Float, 2, 3)
	g.Input("h", onnx.Float16, 2, 3)
	g.Input("i", onnx.Int64, 4)
	g.Output("sum", onnx.Float, 2, 3)
	g.Output("half", onnx.Float16, 2, 3)
	g.Output("twice", onnx.Int64, 4)
	g.Node("Cast", []string{"h"}, []string{"hf"}, onnx.AttrInt("to", int64(onnx.Float)))
	g.Node("Add", []string{"f", "hf"}, []string{"sum"})
	g.Node("Cast", []string{"sum"}, []string{"half"}, onnx.AttrInt("to", int64(onnx.Float16)))
	g.Node("Add", []string{"i", "i"}, []string{"twice"})
	model, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	ins, outs, err := Inspect(Model{Data: model})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ins, outs); got != "[{f float32 [2 3]} {h float16 [2 3]} {i int64 [4]}] [{sum float32 [2 3]} {half float16 [2 3]} {twice int64 [4]}]" {
		t.Fatalf("Inspect: %s", got)
	}
	s, err := NewSession(Model{Data: model}, Config{Device: DeviceCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, h, i := newTensor(t, Float32, 2, 3), newTensor(t, Float16, 2, 3), newTensor(t, Int64, 4)
	sum, half, twice := newTensor(t, Float32, 2, 3), newTensor(t, Float16, 2, 3), newTensor(t, Int64, 4)
	for k := range f.Float32() {
		f.Float32()[k] = float32(k)
		h.Float16()[k] = onnx.Float32ToFloat16(0.5)
	}
	copy(i.Int64(), []int64{1, -2, 1 << 40, 7})
	if err := s.Run(context.Background(), []*Tensor{f, h, i}, []*Tensor{sum, half, twice}); err != nil {
		t.Fatal(err)
	}
	for k, v := range sum.Float32() {
		if v != float32(k)+0.5 || onnx.Float16ToFloat32(half.Float16()[k]) != v {
			t.Errorf("sum[%d] = %v, half = %v; want %v", k, v, onnx.Float16ToFloat32(half.Float16()[k]), float32(k)+0.5)
		}
	}
	if got := fmt.Sprint(twice.Int64()); got != "[2 -4 2199023255552 14]" {
		t.Errorf("twice = %s", got)
	}
	if f.Int64() != nil || i.Float32() != nil {
		t.Error("typed view of the wrong type is not nil")
	}
}

// TestDeviceFallback checks auto falls back to the CPU with one log line when CUDA is missing, and
// that an explicit GPU device is then an error.
func TestDeviceFallback(t *testing.T) {
	TestLoad(t)
	model := Model{Data: depthToSpaceModel(t)}
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	s, err := NewSession(model, Config{Device: DeviceAuto, Threads: 1, Logf: logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Device() == DeviceCUDA {
		t.Skip("this ONNX Runtime has CUDA; nothing to fall back from")
	}
	if s.Device() != DeviceCPU || len(lines) != 1 {
		t.Fatalf("device %v, log %q; want cpu and one line", s.Device(), lines)
	}
	t.Logf("fallback notice: %s", lines[0])
	for _, d := range []Device{DeviceCUDA, DeviceTensorRT} {
		s, err := NewSession(model, Config{Device: d, Threads: 1, Logf: logf})
		if !errors.Is(err, ErrDeviceUnavailable) {
			s.Close()
			t.Errorf("%v: got %v, want ErrDeviceUnavailable", d, err)
		}
		t.Logf("%v: %v", d, err)
	}
	if len(lines) != 1 {
		t.Errorf("explicit devices logged: %q", lines[1:])
	}
}

// TestRunCancel checks Run honours a context that is already done and one that ends mid-run.
func TestRunCancel(t *testing.T) {
	TestLoad(t)
	const n = 1024
	s, a, b, c := matMulSession(t, n, 1)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, []*Tensor{a, b}, []*Tensor{c}); !errors.Is(err, context.Canceled) {
		t.Fatalf("done ctx: %v", err)
	}

	// A chain of 32 matmuls takes seconds on one thread; cancel after 50 ms.
	g := onnx.NewGraph("chain")
	g.Input("a", onnx.Float, n, n)
	g.Input("b", onnx.Float, n, n)
	g.Output("c", onnx.Float, n, n)
	prev := "a"
	for i := 0; i < 32; i++ {
		out := fmt.Sprintf("m%d", i)
		if i == 31 {
			out = "c"
		}
		g.Node("MatMul", []string{prev, "b"}, []string{out})
		prev = out
	}
	model, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	long, err := NewSession(Model{Data: model}, Config{Device: DeviceCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer long.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = long.Run(ctx, []*Tensor{a, b}, []*Tensor{c})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("mid-run cancel: %v after %v", err, time.Since(start))
	}
	t.Logf("terminated after %v", time.Since(start))
	// The session is usable again afterwards.
	if err := s.Run(context.Background(), []*Tensor{a, b}, []*Tensor{c}); err != nil {
		t.Fatalf("run after terminate: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	var nilT *Tensor
	var nilS *Session
	if nilT.Close() != nil || nilS.Close() != nil {
		t.Fatal("nil Close failed")
	}
	TestLoad(t)
	x, err := NewTensor(Float32, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if x.Close() != nil || x.Close() != nil || x.Float32() != nil {
		t.Fatal("second Close failed or view survived")
	}
	if _, err := NewTensor(Float32, 2, 0); err == nil {
		t.Fatal("zero dim accepted")
	}
	s, err := NewSession(Model{Data: depthToSpaceModel(t)}, Config{Device: DeviceCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if s.Close() != nil || s.Close() != nil {
		t.Fatal("session Close twice failed")
	}
	if err := s.Run(context.Background(), nil, nil); err == nil {
		t.Fatal("Run after Close succeeded")
	}
}

// matMulSession returns a session computing c = a x b for n x n matrices, with filled inputs,
// closed when t ends.
func matMulSession(t testing.TB, n int64, threads int) (s *Session, a, b, c *Tensor) {
	t.Helper()
	s, ts, err := newMatMul(n, threads, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, x := range ts {
			x.Close()
		}
		s.Close()
	})
	return s, ts[0], ts[1], ts[2]
}

// BenchmarkMatMul measures ONNX Runtime's fp32 GEMM rate on n x n x n MatMuls (1024 as the
// reference for the model benchmarks in sr/realesrgan; 2048 because many cores need bigger
// problems to approach their peak), on all cores.
func BenchmarkMatMul(b *testing.B) {
	TestLoad(b)
	for _, n := range []int64{1024, 2048} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, x, y, z := matMulSession(b, n, 0)
			defer s.Close()
			ctx := context.Background()
			if err := s.Run(ctx, []*Tensor{x, y}, []*Tensor{z}); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := s.Run(ctx, []*Tensor{x, y}, []*Tensor{z}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(n*n*n)*float64(b.N)/time.Since(start).Seconds()/1e9, "GFLOP/s")
		})
	}
}
