package ncnn

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// opCounts returns how many nodes of each op type a serialized model has.
func opCounts(t testing.TB, model []byte) map[string]int {
	t.Helper()
	m, err := onnx.ReadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range m.Nodes {
		ops[n.Op]++
	}
	return ops
}

func TestPReLULowering(t *testing.T) {
	n, err := ParseParam(strings.NewReader(convNet))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.LoadBin(bytes.NewReader(makeBin(t, n, true, 7, convSlopes))); err != nil {
		t.Fatal(err)
	}
	// c1's fused LeakyRelu is one LeakyRelu and c2's fused Relu one Relu in every mode; p0 has
	// slopes in [0,1], p1 one slope, p2 slopes outside [0,1].
	for _, c := range []struct {
		mode PReLUMode
		want string
	}{
		{PReLUAuto, "LeakyRelu:2 Max:0 PRelu:0 Relu:3"},   // c2's fused Relu, affine p0 and p2
		{PReLUAffine, "LeakyRelu:1 Max:0 PRelu:0 Relu:4"}, // affine p0, p1, p2
		{PReLUMax, "LeakyRelu:1 Max:2 PRelu:1 Relu:1"},    // Max for p0 and p1
		{PReLUOp, "LeakyRelu:1 Max:0 PRelu:3 Relu:1"},
	} {
		model, err := ConvertOptions(n, Options{PReLU: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		ops := opCounts(t, model)
		if got := fmt.Sprintf("LeakyRelu:%d Max:%d PRelu:%d Relu:%d", ops["LeakyRelu"], ops["Max"], ops["PRelu"], ops["Relu"]); got != c.want {
			t.Errorf("mode %d: %s, want %s", c.mode, got, c.want)
		}
	}
}

// TestPReLUTiming compares PReLU lowerings on realesrgan-x4fast, interleaving runs so that load
// from other processes hits every variant alike. It runs only with UGCSR_BENCH_PRELU=1.
func TestPReLUTiming(t *testing.T) {
	if os.Getenv("UGCSR_BENCH_PRELU") == "" {
		t.Skip("set UGCSR_BENCH_PRELU=1 to time PReLU lowerings")
	}
	dir := testModelDir(t)
	withORT(t)
	n, err := ReadFiles(filepath.Join(dir, "realesrgan-x4fast.param"), filepath.Join(dir, "realesrgan-x4fast.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UGCSR_BENCH_PRELU") == "clamp" { // slopes into [0,1], where Max(x, a*x) applies
		for _, l := range n.Layers {
			if l.Type == "PReLU" {
				for i, a := range l.Weights[0] {
					l.Weights[0][i] = min(max(a, 0), 1)
				}
			}
		}
	}
	h, w := int64(128), int64(128)
	modes := []PReLUMode{PReLUOp, PReLUMax, PReLUAffine}
	x, err := ort.NewTensor(ort.NewShape(1, 3, h, w), make([]float32, 3*h*w))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Destroy()
	y, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, 4*h, 4*w))
	if err != nil {
		t.Fatal(err)
	}
	defer y.Destroy()
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil { // steadier on a shared machine
		t.Fatal(err)
	}
	var sessions []*ort.AdvancedSession
	for _, mode := range modes {
		model, err := ConvertOptions(n, Options{PReLU: mode})
		if err != nil {
			t.Fatal(err)
		}
		s, err := ort.NewAdvancedSessionWithONNXData(model, []string{InputName}, []string{OutputName}, []ort.Value{x}, []ort.Value{y}, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Destroy()
		sessions = append(sessions, s)
	}
	times := make([][]time.Duration, len(modes))
	for r := 0; r < 16; r++ {
		for i, s := range sessions {
			start := time.Now()
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
			if r > 0 {
				times[i] = append(times[i], time.Since(start))
			}
		}
	}
	for i, m := range modes {
		slices.Sort(times[i])
		t.Logf("mode %d: min %v median %v", m, times[i][0].Round(time.Millisecond), times[i][len(times[i])/2].Round(time.Millisecond))
	}
}

// BenchmarkX4fast times realesrgan-x4fast in ONNX Runtime (CPU) on a 1x3x128x128 input for each
// PReLU lowering.
func BenchmarkX4fast(b *testing.B) {
	dir := testModelDir(b)
	withORT(b)
	n, err := ReadFiles(filepath.Join(dir, "realesrgan-x4fast.param"), filepath.Join(dir, "realesrgan-x4fast.bin"))
	if err != nil {
		b.Fatal(err)
	}
	const h, w = 128, 128
	for _, mode := range []PReLUMode{PReLUAffine, PReLUMax, PReLUOp} {
		b.Run(fmt.Sprintf("prelu=%d", mode), func(b *testing.B) {
			model, err := ConvertOptions(n, Options{PReLU: mode})
			if err != nil {
				b.Fatal(err)
			}
			ops := opCounts(b, model)
			var names []string
			for k, v := range ops {
				names = append(names, fmt.Sprintf("%s:%d", k, v))
			}
			sort.Strings(names)
			b.Logf("ops: %s", strings.Join(names, " "))
			x, err := ort.NewTensor(ort.NewShape(1, 3, h, w), make([]float32, 3*h*w))
			if err != nil {
				b.Fatal(err)
			}
			defer x.Destroy()
			y, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 3, 4*h, 4*w))
			if err != nil {
				b.Fatal(err)
			}
			defer y.Destroy()
			s, err := ort.NewAdvancedSessionWithONNXData(model, []string{InputName}, []string{OutputName}, []ort.Value{x}, []ort.Value{y}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Destroy()
			if err := s.Run(); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
