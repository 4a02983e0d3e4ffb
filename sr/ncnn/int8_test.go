package ncnn

import (
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// TestRangeQuant checks grids against values worked out by hand.
func TestRangeQuant(t *testing.T) {
	for _, c := range []struct {
		r     Range
		scale float32
		zero  uint8
	}{
		{Range{-1, 3}, 4.0 / 255, 64}, // -lo/scale = 63.75
		{Range{2, 5}, 5.0 / 255, 0},   // widened to hold 0
		{Range{-4, -1}, 4.0 / 255, 255},
		{Range{0, 255}, 1, 0},
	} {
		q := c.r.quant()
		if !(math.Abs(float64(q.scale-c.scale)) <= 1e-7) || q.zero != c.zero {
			t.Errorf("%v: scale %v zero %d, want %v %d", c.r, q.scale, q.zero, c.scale, c.zero)
		}
	}
	if q := (Range{}).quant(); !(q.scale > 0) || math.IsInf(float64(q.scale), 0) {
		t.Errorf("empty range: scale %v", q.scale)
	}
}

// x4fastRanges returns made-up per-channel ranges for every blob ConvertInt8 quantizes, different
// per channel so that equalization moves weights.
func x4fastRanges(n *Net) map[string][]Range {
	info, _, _ := n.shapes()
	ranges := map[string][]Range{}
	for _, b := range n.Int8Blobs() {
		rs := make([]Range, info[b].c)
		for c := range rs {
			rs[c] = Range{-1 - float32(c%5), 2 + float32(c%7)}
		}
		ranges[b] = rs
	}
	return ranges
}

func readX4Fast(t *testing.T) *Net {
	dir := testModelDir(t)
	n, err := ReadFiles(filepath.Join(dir, "realesrgan-x4fast.param"), filepath.Join(dir, "realesrgan-x4fast.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInt8FloatFormExact: the float net ConvertInt8 quantizes (PReLU as Max with negated channels,
// equalization folded into the weights) computes what Convert's net does.
func TestInt8FloatFormExact(t *testing.T) {
	withORT(t)
	n := readX4Fast(t)
	ref, err := Convert(n)
	if err != nil {
		t.Fatal(err)
	}
	in := make([]float32, 3*20*24)
	for i := range in {
		in[i] = float32((i*7919)%256) / 255
	}
	want, _ := runONNX(t, ref, in, 1, 3, 20, 24)
	for _, eq := range []float64{0, 0.5, 1} {
		data, _, err := CalibrationGraph(n, Int8{Ranges: x4fastRanges(n), Equalize: eq})
		if err != nil {
			t.Fatal(err)
		}
		got, shape := runONNX(t, data, in, 1, 3, 20, 24)
		if len(got) != len(want) || shape[2] != 80 || shape[3] != 96 {
			t.Fatalf("equalize %v: shape %v, want [1 3 80 96]", eq, shape)
		}
		worst := 0.0
		for i := range want {
			d := math.Abs(float64(got[i] - want[i]))
			if !(d <= worst) {
				worst = d
			}
		}
		if !(worst <= 1e-4) {
			t.Errorf("equalize %v: max |diff| %g from the PRelu net, want <= 1e-4", eq, worst)
		}
	}
}

// TestInt8Weights reads the quantized weights and biases back: per output channel, symmetric, the
// largest magnitude at 127, every weight within half a step of the float one; the bias at the
// product of the input's and the weights' scales.
func TestInt8Weights(t *testing.T) {
	n := readX4Fast(t)
	data, err := ConvertInt8(n, Int8{Ranges: x4fastRanges(n)})
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.ReadModel(data)
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]onnx.Tensor{}
	for _, x := range m.Initializers {
		inits[x.Name] = x
	}
	f32 := func(x onnx.Tensor) []float32 {
		v := make([]float32, len(x.Raw)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(x.Raw[4*i:]))
		}
		return v
	}
	checked := 0
	for _, l := range n.Layers {
		s, ok := l.spec.(convSpec)
		if !ok || l.Name != "Conv_0" && l.Name != "Conv_66" {
			continue
		}
		wq, ws, bq, bs := inits[l.Name+".wq"], f32(inits[l.Name+".ws"]), inits[l.Name+".bq"], f32(inits[l.Name+".bs"])
		if wq.DType != onnx.Int8 || bq.DType != onnx.Int32 || len(ws) != s.out || len(bs) != s.out {
			t.Fatalf("%s: weights %v, bias %v, %d and %d scales", l.Name, wq.DType, bq.DType, len(ws), len(bs))
		}
		per := len(wq.Raw) / s.out
		for o := range s.out {
			peak := 0
			for k := range per {
				q := int(int8(wq.Raw[o*per+k]))
				peak = max(peak, q, -q)
				w := float64(l.Weights[0][o*per+k])
				if l.Name == "Conv_66" {
					continue // its input columns are negated and scaled
				}
				// Conv_0's rows are negated where PReLU_1's slope is above 1: compare magnitudes.
				if d := math.Abs(math.Abs(w) - math.Abs(float64(q)*float64(ws[o]))); !(d <= float64(ws[o])/2*1.0001) {
					t.Fatalf("%s[%d,%d]: %g quantized to %d*%g", l.Name, o, k, w, q, ws[o])
				}
			}
			if peak != 127 {
				t.Errorf("%s channel %d: largest code %d, want 127", l.Name, o, peak)
			}
			b := float64(l.Weights[1][o])
			gotB := float64(int32(binary.LittleEndian.Uint32(bq.Raw[4*o:]))) * float64(bs[o])
			if l.Name == "Conv_0" && (!(math.Abs(math.Abs(gotB)-math.Abs(b)) <= float64(bs[o])/2*1.0001) || !(math.Abs(float64(bs[o])-float64(ws[o])/255) <= 1e-6*float64(bs[o]))) {
				t.Errorf("%s bias %d: %g at scale %g, want %g at %g (input scale 1/255)", l.Name, o, gotB, bs[o], b, ws[o]/255)
			}
		}
		checked++
	}
	if checked != 2 {
		t.Fatalf("checked %d convolutions, want 2", checked)
	}
}

// TestInt8Errors: nets outside what ConvertInt8 handles, and missing or broken ranges.
func TestInt8Errors(t *testing.T) {
	param := "7767517\n3 3\nInput in 0 1 data\nConvolution conv 1 1 data c 0=4 1=3 4=1 5=1 6=108 9=1\nConvolution out 1 1 c output 0=3 1=3 4=1 5=1 6=108\n"
	n, err := ParseParam(strings.NewReader(param))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertInt8(n, Int8{}); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "fused activation") {
		t.Errorf("fused ReLU: %v", err)
	}
	x := readX4Fast(t)
	ranges := x4fastRanges(x)
	delete(ranges, "106")
	if _, err := ConvertInt8(x, Int8{Ranges: ranges}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), `"106"`) {
		t.Errorf("missing ranges: %v", err)
	}
	ranges = x4fastRanges(x)
	ranges["106"][3] = Range{float32(math.NaN()), 1}
	if _, err := ConvertInt8(x, Int8{Ranges: ranges}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "channel 3") {
		t.Errorf("NaN range: %v", err)
	}
}

// TestInt8WeightsOnly: the diagnostic float net holds the int8 model's weights, dequantized, and no
// quantized activations.
func TestInt8WeightsOnly(t *testing.T) {
	n := readX4Fast(t)
	q := Int8{Ranges: x4fastRanges(n)}
	int8Data, err := ConvertInt8(n, q)
	if err != nil {
		t.Fatal(err)
	}
	q.WeightsOnly = true
	floatData, err := ConvertInt8(n, q)
	if err != nil {
		t.Fatal(err)
	}
	qm, err := onnx.ReadModel(int8Data)
	if err != nil {
		t.Fatal(err)
	}
	fm, err := onnx.ReadModel(floatData)
	if err != nil {
		t.Fatal(err)
	}
	inits := map[string]onnx.Tensor{}
	for _, x := range append(qm.Initializers, fm.Initializers...) {
		inits[x.Name] = x
	}
	for _, nd := range fm.Nodes {
		if nd.Op == "QuantizeLinear" || nd.Op == "DequantizeLinear" {
			t.Fatalf("weights-only net has a %s", nd.Op)
		}
	}
	w, wq, ws := inits["Conv_2.weight"], inits["Conv_2.wq"], inits["Conv_2.ws"]
	if w.DType != onnx.Float || len(w.Raw) != 4*len(wq.Raw) {
		t.Fatalf("Conv_2.weight %v with %d bytes, codes %d", w.DType, len(w.Raw), len(wq.Raw))
	}
	per := len(wq.Raw) / 64
	for i := range wq.Raw {
		got := math.Float32frombits(binary.LittleEndian.Uint32(w.Raw[4*i:]))
		want := float32(int8(wq.Raw[i])) * math.Float32frombits(binary.LittleEndian.Uint32(ws.Raw[4*(i/per):]))
		if got != want {
			t.Fatalf("Conv_2.weight[%d] = %v, want code %d times its scale = %v", i, got, int8(wq.Raw[i]), want)
		}
	}
}
