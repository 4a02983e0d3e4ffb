package ncnn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
	srort "github.com/ugcsr/ugcsr/sr/ort"
)

// roundWeights returns a copy of n whose weights, biases and slopes are rounded to float16 and
// widened back: the values an Options.FP16 model holds, in float32.
func roundWeights(n *Net) *Net {
	r := *n
	r.Layers = make([]*Layer, len(n.Layers))
	for i, l := range n.Layers {
		c := *l
		c.Weights = make([][]float32, len(l.Weights))
		for j, w := range l.Weights {
			c.Weights[j] = make([]float32, len(w))
			for k, x := range w {
				c.Weights[j][k] = onnx.Float16ToFloat32(onnx.Float32ToFloat16(x))
			}
		}
		r.Layers[i] = &c
	}
	return &r
}

// checkFP16Model checks the structure of an Options.FP16 conversion against the fp32 conversion of
// the same net: float32 input and output; the input cast to float16 by the first node and the
// output cast back by the last; every initializer float16 (Resize's scales excepted, which ONNX
// keeps float32) and holding exactly the fp32 model's value rounded to nearest even; every Conv's
// weight and bias float16; the same nodes otherwise. With load, ONNX Runtime must load it.
func checkFP16Model(t *testing.T, fp16, fp32 []byte, load bool) {
	t.Helper()
	m16, err := onnx.ReadModel(fp16)
	if err != nil {
		t.Fatal(err)
	}
	m32, err := onnx.ReadModel(fp32)
	if err != nil {
		t.Fatal(err)
	}
	for _, io := range []onnx.ValueInfo{m16.Inputs[0], m16.Outputs[0]} {
		if io.DType != onnx.Float {
			t.Errorf("%s is %v, want FLOAT", io.Name, io.DType)
		}
	}
	first, last := m16.Nodes[0], m16.Nodes[len(m16.Nodes)-1]
	if to, _ := first.Attr("to"); first.Op != "Cast" || first.Inputs[0] != InputName || to.Int != int64(onnx.Float16) {
		t.Errorf("first node %s %v, want a Cast of %q to FLOAT16", first.Op, first.Inputs, InputName)
	}
	if to, _ := last.Attr("to"); last.Op != "Cast" || last.Outputs[0] != OutputName || to.Int != int64(onnx.Float) {
		t.Errorf("last node %s -> %v, want a Cast to FLOAT producing %q", last.Op, last.Outputs, OutputName)
	}
	ops := func(m *onnx.Model) string {
		var s []string
		for _, n := range m.Nodes {
			if n.Op != "Cast" && n.Op != "Identity" {
				s = append(s, n.Op)
			}
		}
		return strings.Join(s, " ")
	}
	if a, b := ops(m16), ops(m32); a != b {
		t.Errorf("fp16 nodes %s\nfp32 nodes %s", a, b)
	}

	inits := map[string]*onnx.Tensor{}
	for i := range m16.Initializers {
		inits[m16.Initializers[i].Name] = &m16.Initializers[i]
	}
	scales := map[string]bool{}
	for _, n := range m16.Nodes {
		switch n.Op {
		case "Resize":
			scales[n.Inputs[2]] = true
		case "Conv":
			for _, in := range n.Inputs[1:] {
				if w := inits[in]; w == nil || w.DType != onnx.Float16 {
					t.Errorf("Conv %s: %s is not a FLOAT16 initializer", n.Name, in)
				}
			}
		}
	}
	if len(m16.Initializers) != len(m32.Initializers) {
		t.Fatalf("%d initializers in fp16, %d in fp32", len(m16.Initializers), len(m32.Initializers))
	}
	for _, w32 := range m32.Initializers {
		w16 := inits[w32.Name]
		switch {
		case w16 == nil:
			t.Fatalf("initializer %s missing from the fp16 model", w32.Name)
		case scales[w32.Name]:
			if w16.DType != onnx.Float || !bytes.Equal(w16.Raw, w32.Raw) {
				t.Errorf("Resize scales %s: %v, want the fp32 model's FLOAT", w16.Name, w16.DType)
			}
			continue
		case w16.DType != onnx.Float16:
			t.Errorf("initializer %s is %v, want FLOAT16", w16.Name, w16.DType)
			continue
		case fmt.Sprint(w16.Dims) != fmt.Sprint(w32.Dims) || len(w16.Raw)*2 != len(w32.Raw):
			t.Fatalf("initializer %s: dims %v, %d bytes; fp32 %v, %d bytes", w16.Name, w16.Dims, len(w16.Raw), w32.Dims, len(w32.Raw))
		}
		for i := 0; i < len(w32.Raw)/4; i++ {
			x := math.Float32frombits(binary.LittleEndian.Uint32(w32.Raw[4*i:]))
			if h := binary.LittleEndian.Uint16(w16.Raw[2*i:]); h != onnx.Float32ToFloat16(x) {
				t.Fatalf("initializer %s[%d] = %#04x, want %g rounded (%#04x)", w16.Name, i, h, x, onnx.Float32ToFloat16(x))
			}
		}
	}
	if !load {
		return
	}
	ins, outs, err := srort.Inspect(srort.Model{Data: fp16})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the fp16 model: %v", err)
	}
	if ins[0].DType != srort.Float32 || outs[0].DType != srort.Float32 {
		t.Errorf("ONNX Runtime sees %v -> %v, want float32 -> float32", ins[0].DType, outs[0].DType)
	}
}

// TestConvertFP16 converts the small test nets with Options.FP16, checks the model's structure
// (checkFP16Model) and runs it against the Go reference of the net with its weights rounded to
// float16 and its input too. ONNX Runtime's CPU provider has no float16 Conv on x86: it casts the
// float16 weights to float32 and runs those nodes in float32, so this checks the weights exactly as
// the model holds them, not float16 arithmetic; what stays float16 (the output cast, elementwise
// nodes with float16 kernels) is covered by the tolerance, |diff| <= 4e-3 (1 + |want|), about eight
// float16 half-units.
func TestConvertFP16(t *testing.T) {
	withORT(t)
	for _, c := range []struct {
		name   string
		param  string
		slopes map[string][]float32
		c      int
	}{
		{"conv", convNet, convSlopes, 3},
		{"merge", mergeNet, nil, 4},
		{"esrgan", esrganNet, nil, 3},
	} {
		for _, mode := range []PReLUMode{PReLUAuto, PReLUAffine, PReLUMax, PReLUOp} {
			t.Run(fmt.Sprintf("%s/prelu=%d", c.name, mode), func(t *testing.T) {
				n, err := ParseParam(strings.NewReader(c.param))
				if err != nil {
					t.Fatal(err)
				}
				if err := n.LoadBin(bytes.NewReader(makeBin(t, n, false, 11, c.slopes))); err != nil {
					t.Fatal(err)
				}
				m16, err := ConvertOptions(n, Options{PReLU: mode, FP16: true})
				if err != nil {
					t.Fatal(err)
				}
				m32, err := ConvertOptions(n, Options{PReLU: mode})
				if err != nil {
					t.Fatal(err)
				}
				checkFP16Model(t, m16, m32, true)

				const h, w = 5, 7
				rng := rand.New(rand.NewPCG(3, 4))
				x := newMat(c.c, h, w)
				for i := range x.d {
					x.d[i] = onnx.Float16ToFloat32(onnx.Float32ToFloat16(rng.Float32()*2 - 1))
				}
				want, err := roundWeights(n).forward(x)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := runONNX(t, m16, x.d, 1, int64(c.c), h, w)
				var maxd float64
				for i := range got {
					d := math.Abs(float64(got[i]-want.d[i])) / (1 + math.Abs(float64(want.d[i])))
					if !(d <= 4e-3) {
						t.Fatalf("output[%d] = %g, want %g", i, got[i], want.d[i])
					}
					maxd = max(maxd, d)
				}
				t.Logf("max relative diff %.2g", maxd)
			})
		}
	}
}

// TestConvertFP16RealModels checks the structure of both shipped models converted with FP16
// (checkFP16Model; ONNX Runtime loads x4fast here, x4plus takes seconds and TestRealESRGANGolden
// runs it) and that the file is about half the size of the fp32 one.
func TestConvertFP16RealModels(t *testing.T) {
	dir := testModelDir(t)
	withORT(t)
	for _, name := range []string{"realesrgan-x4fast", "realesrgan-x4plus"} {
		t.Run(name, func(t *testing.T) {
			n, err := ReadFiles(filepath.Join(dir, name+".param"), filepath.Join(dir, name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			m16, err := ConvertOptions(n, Options{FP16: true})
			if err != nil {
				t.Fatal(err)
			}
			m32, err := Convert(n)
			if err != nil {
				t.Fatal(err)
			}
			checkFP16Model(t, m16, m32, name == "realesrgan-x4fast")
			if r := float64(len(m16)) / float64(len(m32)); r < 0.45 || r > 0.55 {
				t.Errorf("fp16 model is %d bytes, %.2f of the fp32 model's %d", len(m16), r, len(m32))
			}
		})
	}
}
