package onnx_test

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/ugcsr/ugcsr/sr/onnx"
	srort "github.com/ugcsr/ugcsr/sr/ort"
)

// TestExternalInitializer: a weight stored in a side file at an offset is found by ONNX Runtime
// (y = x * w + b, both from the file), and ReadModel sees its dims and location.
func TestExternalInitializer(t *testing.T) {
	srort.TestLoad(t)
	dir := t.TempDir()
	w := []float32{2, -3, 0.5}
	b := []float32{1, 1, 1}
	data := make([]byte, 64+4*len(w)+4*len(b)) // data starts at 64: offsets are honoured
	for i, v := range append(append([]float32{}, w...), b...) {
		binary.LittleEndian.PutUint32(data[64+4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "m.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	g := onnx.NewGraph("ext")
	g.Input("x", onnx.Float, 3)
	g.Output("y", onnx.Float, 3)
	if err := g.ExternalInitializer("w", onnx.Float, []int64{3}, "m.bin", 64, 12); err != nil {
		t.Fatal(err)
	}
	g.ExternalInitializer("b", onnx.Float, []int64{3}, "m.bin", 76, 12)
	m := g.Node("Mul", []string{"x", "w"}, []string{"m"})
	g.Node("Add", []string{m[0], "b"}, []string{"y"})
	model, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.onnx")
	if err := os.WriteFile(path, model, 0o644); err != nil {
		t.Fatal(err)
	}
	rm, err := onnx.ReadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	if len(rm.Initializers) != 2 || rm.Initializers[0].External != "m.bin" || len(rm.Initializers[0].Dims) != 1 || rm.Initializers[0].Dims[0] != 3 {
		t.Errorf("read back: %+v", rm.Initializers)
	}
	if err := onnx.NewGraph("bad").ExternalInitializer("w", onnx.Float, []int64{3}, "m.bin", 0, 11); err == nil {
		t.Error("a length that does not match the dims was accepted")
	}

	x := []float32{1, 2, 3}
	in, err := ort.NewTensor(ort.NewShape(3), x)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	out, err := ort.NewEmptyTensor[float32](ort.NewShape(3))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Destroy()
	s, err := ort.NewDynamicAdvancedSession(path, []string{"x"}, []string{"y"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run([]ort.Value{in}, []ort.Value{out}); err != nil {
		t.Fatal(err)
	}
	for i, v := range out.GetData() {
		if want := x[i]*w[i] + b[i]; !(v == want) {
			t.Errorf("y[%d] = %g, want %g", i, v, want)
		}
	}
}
