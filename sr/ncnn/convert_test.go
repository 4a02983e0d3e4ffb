package ncnn

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// paramText returns a .param file for layer lines, with the header counts filled in.
func paramText(lines ...string) string {
	tops := map[string]bool{}
	for _, l := range lines {
		f := strings.Fields(l)
		nb, nt := 0, 0
		fmt.Sscan(f[2], &nb)
		fmt.Sscan(f[3], &nt)
		for _, t := range f[4+nb : 4+nb+nt] {
			tops[t] = true
		}
	}
	return fmt.Sprintf("%d\n%d %d\n%s\n", Magic, len(lines), len(tops), strings.Join(lines, "\n"))
}

// makeBin returns a .bin for the parsed net n: random weights (fp16-tagged or fp32 with tag 0),
// biases and slopes, except slopes given by layer name in slopes.
func makeBin(t testing.TB, n *Net, fp16 bool, seed uint64, slopes map[string][]float32) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	le := binary.LittleEndian
	for _, l := range n.Layers {
		sizes, tagged := l.blobSizes()
		for i, size := range sizes {
			v := make([]float32, size)
			for j := range v {
				v[j] = float32(rng.NormFloat64() * 0.3)
			}
			if s, ok := slopes[l.Name]; ok {
				v = s
			}
			if !tagged[i] {
				binary.Write(&b, le, v)
				continue
			}
			if !fp16 {
				binary.Write(&b, le, uint32(0))
				binary.Write(&b, le, v)
				continue
			}
			binary.Write(&b, le, uint32(tagFp16))
			for _, x := range v {
				binary.Write(&b, le, onnx.Float32ToFloat16(x))
			}
			if size%2 == 1 {
				b.Write([]byte{0, 0}) // fp16 data is padded to 4 bytes
			}
		}
	}
	return b.Bytes()
}

var (
	// convNet covers Convolution's options and fused activations, and the three PReLU lowerings.
	convNet = paramText(
		"Input in 0 1 data 2=3",
		"Convolution c0 1 1 data b0 0=4 1=3 4=1 5=1 6=108",
		"PReLU p0 1 1 b0 b1 0=4",
		"Convolution c1 1 1 b1 b2 0=4 1=3 4=1 5=1 6=144 9=2 -23310=1,1.000000e-01",
		"Convolution c2 1 1 b2 b3 0=4 1=1 5=1 6=16 9=1",
		"Convolution c3 1 1 b3 b4 0=5 1=3 11=2 3=2 13=1 4=0 14=1 15=1 16=0 5=1 6=120 9=3 -23310=2,-5.000000e-01,5.000000e-01",
		"PReLU p1 1 1 b4 b5 0=1",
		"Convolution c4 1 1 b5 b6 0=3 1=3 2=2 4=2 5=0 6=135 9=4",
		"PReLU p2 1 1 b6 output 0=3",
	)
	convSlopes = map[string][]float32{
		"p0": {0, 0.25, 1, 0.5},
		"p1": {0.125},
		"p2": {-0.5, 1.5, 0.2},
	}

	// mergeNet covers Split, Eltwise, Concat, PixelShuffle, Interp and BinaryOp.
	mergeNet = paramText(
		"Input in 0 1 data 2=4",
		"Split sp 1 3 data d0 d1 d2",
		"Convolution ca 1 1 d0 a 0=4 1=1 5=1 6=16",
		"Eltwise e0 2 1 a d1 e 0=1 -23301=2,2.000000e-01,1.000000e+00",
		"Concat cat0 2 1 e d2 f",
		"PixelShuffle ps0 1 1 f g 0=2",
		"Split sp2 1 4 g g0 g1 g2 g3",
		"Interp up 1 1 g0 h 0=1 1=2.000000e+00 2=2.000000e+00",
		"Interp bl 1 1 g1 i 0=2 1=2.000000e+00 2=2.000000e+00",
		"Interp ac 1 1 g2 j 0=2 1=2.000000e+00 2=2.000000e+00 6=1",
		"Interp up2 1 1 g3 k 0=1 1=2.0 2=2.0",
		"Split sp3 1 3 h h0 h1 h2",
		"Eltwise emax 3 1 h0 i j m 0=2",
		"Eltwise eprod 3 1 h1 k m p 0=0",
		"BinaryOp bs 1 1 p q 0=2 1=1 2=3.0",
		"BinaryOp rs 1 1 q r 0=7 1=1 2=1.0",
		"BinaryOp pw 1 1 r s 0=6 1=1 2=2.0",
		"BinaryOp ad 1 1 s s1 0=0 1=1 2=1.0",
		"BinaryOp rd 1 1 s1 s2 0=8 1=1 2=2.0",
		"BinaryOp dv 1 1 s2 s3 0=3 1=1 2=4.0",
		"BinaryOp mn 2 1 s3 h2 s4 0=5",
		"Split sp4 1 3 s4 v0 v1 v2",
		"BinaryOp sc 1 1 v1 v1s 0=2 1=1 2=5.000000e-01",
		"BinaryOp sb 2 1 v0 v1s w 0=1",
		"BinaryOp mx 2 1 w v2 x 0=4",
		"PixelShuffle ps1 1 1 x y 0=1 1=1",
		"Split sp5 1 2 y y0 y1",
		"Concat cath 2 1 y0 y1 z 0=1",
		"Split sp6 1 2 z z0 z1",
		"Concat catw 2 1 z0 z1 output 0=-1",
	)

	// esrganNet is realesrgan-x4fast's structure, shrunk.
	esrganNet = paramText(
		"Input input.1 0 1 data",
		"Split splitncnn_input0 1 2 data input_splitncnn_0 input_splitncnn_1",
		"Convolution Conv_0 1 1 input_splitncnn_1 102 0=8 1=3 4=1 5=1 6=216",
		"PReLU PRelu_1 1 1 102 105 0=8",
		"Convolution Conv_2 1 1 105 106 0=48 1=3 4=1 5=1 6=3456",
		"PixelShuffle DepthToSpace_3 1 1 106 107 0=4",
		"Interp Resize_4 1 1 input_splitncnn_0 108 0=1 1=4.000000e+00 2=4.000000e+00",
		"BinaryOp Add_5 2 1 107 108 output",
	)
)

// TestConvertMatchesReference runs small nets through Convert and ONNX Runtime and compares with a
// Go transcription of the ncnn layers, for fp16 and fp32 weights and each PReLU lowering.
func TestConvertMatchesReference(t *testing.T) {
	withORT(t)
	cases := []struct {
		name   string
		param  string
		slopes map[string][]float32
		c      int
		scale  int // 0: not an integer multiple
	}{
		{"conv", convNet, convSlopes, 3, 0},
		{"merge", mergeNet, nil, 4, 0},
		{"esrgan", esrganNet, nil, 3, 4},
	}
	for _, c := range cases {
		for _, fp16 := range []bool{true, false} {
			for _, mode := range []PReLUMode{PReLUAuto, PReLUAffine, PReLUMax, PReLUOp} {
				t.Run(fmt.Sprintf("%s/fp16=%v/prelu=%d", c.name, fp16, mode), func(t *testing.T) {
					n, err := ParseParam(strings.NewReader(c.param))
					if err != nil {
						t.Fatal(err)
					}
					if err := n.LoadBin(bytes.NewReader(makeBin(t, n, fp16, 7, c.slopes))); err != nil {
						t.Fatal(err)
					}
					s, err := n.Scale()
					if (c.scale == 0) != (err != nil) || s != c.scale {
						t.Errorf("Scale() = %d, %v; want %d", s, err, c.scale)
					}
					model, err := ConvertOptions(n, Options{PReLU: mode})
					if err != nil {
						t.Fatal(err)
					}
					const h, w = 5, 7
					rng := rand.New(rand.NewPCG(3, 4))
					x := newMat(c.c, h, w)
					for i := range x.d {
						x.d[i] = rng.Float32()*2 - 1
					}
					want, err := n.forward(x)
					if err != nil {
						t.Fatal(err)
					}
					got, shape := runONNX(t, model, x.d, 1, int64(c.c), h, w)
					if fmt.Sprint(shape) != fmt.Sprint([]int64{1, int64(want.c), int64(want.h), int64(want.w)}) {
						t.Fatalf("shape %v, want %dx%dx%d", shape, want.c, want.h, want.w)
					}
					var maxd float64
					for i := range got {
						d := math.Abs(float64(got[i]-want.d[i])) / (1 + math.Abs(float64(want.d[i])))
						if !(d <= 1e-4) {
							t.Fatalf("output[%d] = %g, want %g", i, got[i], want.d[i])
						}
						maxd = max(maxd, d)
					}
					t.Logf("max relative diff %.2g", maxd)
				})
			}
		}
	}
}

// TestConvertBatch checks Options.Batch = -1: a batch of two gives each frame's batch-1 result.
func TestConvertBatch(t *testing.T) {
	withORT(t)
	n, err := ParseParam(strings.NewReader(esrganNet))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.LoadBin(bytes.NewReader(makeBin(t, n, true, 5, nil))); err != nil {
		t.Fatal(err)
	}
	one, err := Convert(n)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := ConvertOptions(n, Options{Batch: -1})
	if err != nil {
		t.Fatal(err)
	}
	const h, w = 4, 6
	x := make([]float32, 2*3*h*w)
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	both, shape := runONNX(t, dyn, x, 2, 3, h, w)
	if fmt.Sprint(shape) != "[2 3 16 24]" {
		t.Fatalf("shape %v", shape)
	}
	for b := 0; b < 2; b++ {
		single, _ := runONNX(t, one, x[b*3*h*w:(b+1)*3*h*w], 1, 3, h, w)
		for i, v := range single {
			if d := both[b*len(single)+i] - v; !(d <= 1e-6 && d >= -1e-6) {
				t.Fatalf("frame %d value %d: %g in a batch, %g alone", b, i, both[b*len(single)+i], v)
			}
		}
	}
	if _, _, err := runONNXErr(one, x, 2, 3, h, w); err == nil {
		t.Error("batch-1 model accepted a batch of 2")
	}
}
