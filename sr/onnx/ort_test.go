package onnx_test

import (
	"math"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ugcsr/ugcsr/sr/onnx"
	srort "github.com/ugcsr/ugcsr/sr/ort"
)

// TestOnnxRuntimeAccepts runs a small graph in ONNX Runtime: a 1x1 Conv with bias, a Constant built
// with AttrTensor, Mul and Max (a leaky ReLU), and an fp16 initializer cast to float and added.
func TestOnnxRuntimeAccepts(t *testing.T) {
	srort.TestLoad(t) // $UGCSR_ORT_LIB or the cache; a failure, not a skip, when $UGCSR_REQUIRE_ORT=1

	g := onnx.NewGraph("smoke")
	g.Input("x", onnx.Float, 1, 2, -1, -1)
	g.Output("y", onnx.Float, 1, 2, -1, -1)
	w := []float32{1, 2, -1, 0.5} // out0 = x0 + 2 x1, out1 = -x0 + x1/2
	bias := []float32{0.25, -0.5}
	if err := g.Initializer("w", onnx.Float, []int64{2, 2, 1, 1}, w); err != nil {
		t.Fatal(err)
	}
	if err := g.Initializer("b", onnx.Float, []int64{2}, bias); err != nil {
		t.Fatal(err)
	}
	if err := g.Initializer("h", onnx.Float16, []int64{1}, []uint16{onnx.Float32ToFloat16(0.125)}); err != nil {
		t.Fatal(err)
	}
	c := g.Node("Conv", []string{"x", "w", "b"}, []string{"c"}, onnx.AttrInts("kernel_shape", 1, 1), onnx.AttrInts("pads", 0, 0, 0, 0))
	k := g.Node("Constant", nil, []string{"k"}, onnx.AttrTensor("value", onnx.Float, []int64{1}, []float32{0.5}))
	m := g.Node("Mul", []string{c[0], k[0]}, []string{"m"})
	o := g.Node("Max", []string{c[0], m[0]}, []string{"o"})
	h := g.Node("Cast", []string{"h"}, []string{"hf"}, onnx.AttrInt("to", int64(onnx.Float)))
	g.Node("Add", []string{o[0], h[0]}, []string{"y"})
	model, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}

	const W, H = 3, 2
	x := make([]float32, 2*W*H)
	for i := range x {
		x[i] = float32(i)/4 - 1
	}
	in, err := ort.NewTensor(ort.NewShape(1, 2, H, W), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(1, 2, H, W))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{"x"}, []string{"y"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		t.Fatal(err)
	}
	got := out.GetData()
	n := W * H
	for i := 0; i < n; i++ {
		for o := 0; o < 2; o++ {
			v := w[2*o]*x[i] + w[2*o+1]*x[n+i] + bias[o]
			v = float32(math.Max(float64(v), float64(v*0.5))) + 0.125
			if d := math.Abs(float64(got[o*n+i] - v)); !(d <= 1e-6) {
				t.Errorf("y[%d][%d] = %g, want %g", o, i, got[o*n+i], v)
			}
		}
	}
}
