package ncnn

import (
	"fmt"
	"math"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// Int8Version changes whenever ConvertInt8's output for the same net and ranges changes; caches of
// quantized models key on it (with the calibration's own identity).
const Int8Version = 1

// Range is the float interval a tensor (or one channel of it) is quantized over: uint8 codes 0..255
// spread evenly from Min to Max, widened to hold 0 so that zero padding is exact.
type Range struct{ Min, Max float32 }

// union returns the smallest range holding r and o.
func (r Range) union(o Range) Range { return Range{min(r.Min, o.Min), max(r.Max, o.Max)} }

// quant is a per-tensor uint8 quantization: x ≈ scale*(q-zero).
type quant struct {
	scale float32
	zero  uint8
}

func (r Range) quant() quant {
	lo, hi := min(float64(r.Min), 0), max(float64(r.Max), 0)
	if hi-lo < 1e-6 {
		hi = lo + 1e-6
	}
	s := (hi - lo) / 255
	z := math.Round(-lo / s)
	return quant{scale: float32(s), zero: uint8(max(0, min(255, z)))}
}

// inputQuant is the input's exact quantization: 8-bit frames hold k/255.
var inputQuant = quant{scale: 1.0 / 255, zero: 0}

// Int8PReLU selects how ConvertInt8 writes PReLU. Int8MaxMul is the converter's; the others are
// kept for BenchmarkInt8PReLU in sr/realesrgan, which measured them on x4fast at 320x180 on the
// 2-core Xeon VM (quiet; fp32 623 ms): Int8MaxMul 218 ms (2.86x), Int8MaxExact 257 ms (2.42x),
// Int8MaxFloat 329 ms (1.90x), Int8PRelu 593 ms (1.05x).
type Int8PReLU int

const (
	// Int8MaxMul: y_q = Max(x_q, Q(a*DQ(x_q))), the Max on the uint8 codes of one grid shared by x
	// and y, with a*x a quantized Mul (ONNX Runtime's QLinearMul, the slopes rounded to uint8:
	// |error| <= 0.006 for x4fast's). Quantization is monotonic, so the Max is exact on the grid:
	// integer kernels only, two per PReLU. Slopes above 1 are handled by negating channels (see
	// ConvertInt8).
	Int8MaxMul Int8PReLU = iota
	// Int8MaxExact: the same with a*x in float (DequantizeLinear, Mul, QuantizeLinear): exact
	// slopes, three float passes.
	Int8MaxExact
	// Int8MaxFloat: Max(x, a*x) in float between DequantizeLinear and QuantizeLinear.
	Int8MaxFloat
	// Int8PRelu: the PRelu op in float between DequantizeLinear and QuantizeLinear.
	Int8PRelu
)

// Int8 configures ConvertInt8.
type Int8 struct {
	// Ranges holds, for every blob of Int8Blobs, one range per channel of the values the blob takes
	// in CalibrationGraph (which negates some channels; see ConvertInt8).
	Ranges map[string][]Range
	// Equalize is the exponent of cross-layer equalization (optional): around each PReLU, channel c
	// is divided by s_c = (w_c/W)^Equalize, where w_c is its calibrated range width and W the
	// largest, and the next convolution's input column multiplied by s_c. 1 gives every channel
	// the same range, so the per-tensor grid suits each; 0.5 shares the cost between the
	// activation grid and the next convolution's weights. It defaults to 0: no equalization.
	Equalize float64
	// PReLU selects the form of PReLU (optional). It defaults to Int8MaxMul.
	PReLU Int8PReLU
	// WeightsOnly makes ConvertInt8 write a float net whose convolution weights are the int8 ones
	// dequantized (optional, for measuring what the weights alone cost; tools/calibrate -compare).
	// It defaults to false.
	WeightsOnly bool
}

// Int8Blobs returns the blobs ConvertInt8 quantizes, in net order: every Convolution's and PReLU's
// output. A Convolution read by a PReLU shares the PReLU's grid, so its Range covers both.
func (n *Net) Int8Blobs() []string {
	var names []string
	for _, l := range n.Layers {
		switch l.spec.(type) {
		case convSpec, preluSpec:
			names = append(names, l.Tops[0])
		}
	}
	return names
}

// Tap is one extra output of CalibrationGraph.
type Tap struct {
	Blob     string // the ncnn blob
	Value    string // the graph output holding it
	Channels int
}

// CalibrationGraph returns the net as ConvertInt8 writes it with q, but in float32, with every blob
// of Int8Blobs also a graph output. With a zero q (no equalization) running it on sample frames
// gives the per-channel ranges ConvertInt8 takes; with q's ranges and Equalize it is the float net
// ConvertInt8 quantizes.
func CalibrationGraph(n *Net, q Int8) ([]byte, []Tap, error) {
	w := &int8Writer{n: n, float: true, cfg: q}
	b, err := w.write()
	return b, w.taps, err
}

// ConvertInt8 returns n as an int8 ONNX model in the QDQ form ONNX Runtime fuses into its integer
// kernels (QLinearConv): every Convolution reads DequantizeLinear(uint8 activation) and
// DequantizeLinear(int8 weights, symmetric, one scale per output channel), its bias is int32 at the
// product of the two scales, and its output goes straight to QuantizeLinear. Activations are uint8
// with one scale and zero point per tensor, from q.Ranges; the input is quantized at 1/255, exact
// for 8-bit frames. Input and output are float32 [N,C,H,W] like Convert's, N dynamic.
//
// PReLU is Max(x, a*x) (see Int8MaxMul), which equals PReLU for every slope a <= 1 (x >= 0:
// a*x <= x; x < 0: a*x >= x). A channel whose slope is above 1 is negated around it: its row of the
// convolution before (weights and bias) and its column of the convolution after are negated, so the
// Max sees x' = -x, and -Max(x', a*x') = Min(x, a*x), which is PReLU for a >= 1. The negations and
// the equalization scales (q.Equalize; PReLU(x/s) = PReLU(x)/s for s > 0) are folded into the
// weights, exact in float.
//
// Only what SRVGGNetCompact (x4fast) uses is handled: Input, Split, Convolution without a fused
// activation, PReLU between Convolutions, PixelShuffle, nearest Interp of the input and Add; other
// nets give an error wrapping ErrUnsupported.
func ConvertInt8(n *Net, q Int8) ([]byte, error) {
	return (&int8Writer{n: n, cfg: q, float: q.WeightsOnly}).write()
}

type int8Writer struct {
	n     *Net
	float bool // CalibrationGraph: no quantization, taps as outputs
	cfg   Int8

	g      *onnx.Graph
	quants map[string]quant // dequantized value -> its grid, for the Convolutions reading it
	taps   []Tap
}

func (w *int8Writer) write() ([]byte, error) {
	n := w.n
	info, outBlob, err := n.shapes()
	if err != nil {
		return nil, err
	}
	consumers := map[string][]*Layer{}
	producer := map[string]*Layer{}
	for _, l := range n.Layers {
		for _, b := range l.Bottoms {
			consumers[b] = append(consumers[b], l)
		}
		for _, t := range l.Tops {
			producer[t] = l
		}
	}
	// readers follows Split layers to a blob's real consumers.
	var readers func(blob string) []*Layer
	readers = func(blob string) []*Layer {
		var out []*Layer
		for _, c := range consumers[blob] {
			if c.Type == "Split" {
				for _, t := range c.Tops {
					out = append(out, readers(t)...)
				}
				continue
			}
			out = append(out, c)
		}
		return out
	}
	outMul := map[*Layer][]float32{} // conv -> factor per output channel
	inMul := map[*Layer][]float32{}  // conv -> factor per input channel
	gridOf := map[string]string{}    // conv top -> the PReLU top whose grid it shares
	for _, l := range n.Layers {
		switch s := l.spec.(type) {
		case inputSpec, nil, pixelShuffleSpec:
		case convSpec:
			if s.act != 0 {
				return nil, fmt.Errorf("%w: int8: %v with a fused activation", ErrUnsupported, l)
			}
		case preluSpec:
			p := producer[l.Bottoms[0]]
			if _, ok := p.spec.(convSpec); !ok || len(readers(l.Bottoms[0])) != 1 {
				return nil, fmt.Errorf("%w: int8: %v is not the only reader of a Convolution", ErrUnsupported, l)
			}
			next := readers(l.Tops[0])
			for _, r := range next {
				if _, ok := r.spec.(convSpec); !ok {
					return nil, fmt.Errorf("%w: int8: %v feeds %v, not a Convolution", ErrUnsupported, l, r)
				}
			}
			mul, err := w.channelFactors(l, info[l.Bottoms[0]].c)
			if err != nil {
				return nil, err
			}
			outMul[p] = mul
			inv := make([]float32, len(mul))
			for i, m := range mul {
				inv[i] = 1 / m
			}
			for _, r := range next {
				inMul[r] = inv
			}
			gridOf[l.Bottoms[0]] = l.Tops[0]
		case interpSpec:
			if pt := producer[l.Bottoms[0]].Type; s.typ != 1 || pt != "Input" && pt != "Split" {
				return nil, fmt.Errorf("%w: int8: %v is not a nearest resize of the input", ErrUnsupported, l)
			}
		case binaryOpSpec:
			if s.op != 0 || s.withScalar {
				return nil, fmt.Errorf("%w: int8: %v is not an Add of two blobs", ErrUnsupported, l)
			}
		default:
			return nil, fmt.Errorf("%w: int8: layer %v", ErrUnsupported, l)
		}
	}
	// Per-tensor grids: a conv read by a PReLU and the PReLU share one, over both tensors' scaled
	// channel ranges.
	grids := map[string]quant{}
	if !w.float {
		for _, b := range n.Int8Blobs() {
			if len(w.cfg.Ranges[b]) != info[b].c {
				return nil, fmt.Errorf("%w: int8: blob %q has %d channel ranges, want %d", ErrFormat, b, len(w.cfg.Ranges[b]), info[b].c)
			}
		}
		for _, l := range n.Layers {
			if _, ok := l.spec.(convSpec); !ok {
				continue
			}
			top := l.Tops[0]
			r, err := w.tensorRange(top, outMul[l])
			if err != nil {
				return nil, err
			}
			if p, ok := gridOf[top]; ok {
				rp, err := w.tensorRange(p, outMul[l])
				if err != nil {
					return nil, err
				}
				r = r.union(rp)
				grids[p] = r.quant()
			}
			grids[top] = r.quant()
		}
	}

	g := onnx.NewGraph("ncnn-int8")
	w.g, w.quants = g, map[string]quant{}
	g.Input(InputName, onnx.Float, -1, int64(info[n.Layers[0].Tops[0]].c), -1, -1)
	value := map[string]string{} // ncnn blob -> ONNX value (dequantized, in the int8 graph)
	var taps []string
	for _, l := range n.Layers {
		in := make([]string, len(l.Bottoms))
		for j, b := range l.Bottoms {
			in[j] = value[b]
		}
		out := ""
		if len(l.Tops) == 1 {
			switch out = l.Tops[0]; out {
			case outBlob:
				out = OutputName
			case InputName, OutputName:
				out += "@ncnn"
			}
			value[l.Tops[0]] = out
		}
		switch s := l.spec.(type) {
		case inputSpec:
			value[l.Tops[0]] = InputName
			if !w.float {
				value[l.Tops[0]] = w.quantize(InputName, inputQuant, true)
			}
		case nil:
			for _, t := range l.Tops {
				value[t] = in[0]
			}
		case convSpec:
			w.conv(l, s, in[0], out, inMul[l], outMul[l])
			taps = append(taps, l.Tops[0])
			if !w.float {
				// A PReLU reads the codes; anything else the dequantized value.
				_, prelu := gridOf[l.Tops[0]]
				value[l.Tops[0]] = w.quantize(out, grids[l.Tops[0]], !prelu)
			}
		case preluSpec:
			c := info[l.Bottoms[0]].c
			if w.float {
				w.floatPReLU(l, in[0], out, c)
			} else {
				value[l.Tops[0]] = w.int8PReLU(l, in[0], out, c)
			}
			taps = append(taps, l.Tops[0])
		case pixelShuffleSpec:
			mode := "CRD"
			if s.mode == 1 {
				mode = "DCR"
			}
			g.Node("DepthToSpace", in, []string{out}, onnx.AttrInt("blocksize", int64(s.r)), onnx.AttrString("mode", mode))
		case interpSpec:
			scales := l.Name + ".scales"
			_ = g.Initializer(scales, onnx.Float, []int64{4}, []float32{1, 1, s.hs, s.ws})
			// The float input rather than its dequantized copy: the same values, one node fewer.
			g.Node("Resize", []string{InputName, "", scales}, []string{out}, onnx.AttrString("mode", "nearest"),
				onnx.AttrString("coordinate_transformation_mode", "asymmetric"), onnx.AttrString("nearest_mode", "floor"))
		case binaryOpSpec:
			g.Node("Add", in, []string{out})
		}
	}
	g.Output(OutputName, onnx.Float, -1, int64(info[outBlob].c), -1, -1)
	if w.float && !w.cfg.WeightsOnly {
		for _, t := range taps {
			g.Output(value[t], onnx.Float, -1, int64(info[t].c), -1, -1)
			w.taps = append(w.taps, Tap{Blob: t, Value: value[t], Channels: info[t].c})
		}
	}
	b, err := g.Marshal(17)
	if err != nil {
		return nil, fmt.Errorf("%w: int8: %w", ErrFormat, err)
	}
	return b, nil
}

// channelFactors returns the factor each channel of PReLU l's input is multiplied by: -1 for a
// slope above 1, times 1/s_c of equalization (from the calibrated ranges of l's input and output).
func (w *int8Writer) channelFactors(l *Layer, c int) ([]float32, error) {
	mul := make([]float32, c)
	for j := range mul {
		mul[j] = 1
		if l.Weights[0][min(j, len(l.Weights[0])-1)] > 1 {
			mul[j] = -1
		}
	}
	if w.cfg.Equalize == 0 {
		return mul, nil
	}
	in, out := w.cfg.Ranges[l.Bottoms[0]], w.cfg.Ranges[l.Tops[0]]
	if len(in) != c || len(out) != c {
		return nil, fmt.Errorf("%w: int8: %v: want %d channel ranges", ErrFormat, l, c)
	}
	width := make([]float64, c)
	widest := 0.0
	for j := range width {
		r := in[j].union(out[j]).union(Range{})
		width[j] = float64(r.Max - r.Min)
		widest = max(widest, width[j])
	}
	for j := range mul {
		if width[j] > 0 && widest > 0 {
			mul[j] /= float32(math.Pow(width[j]/widest, w.cfg.Equalize))
		}
	}
	return mul, nil
}

// tensorRange returns blob's per-tensor range after its channels are multiplied by mul (nil: 1),
// from the calibrated channel ranges (which already include any sign flip).
func (w *int8Writer) tensorRange(blob string, mul []float32) (Range, error) {
	var r Range
	for j, c := range w.cfg.Ranges[blob] {
		if !(c.Max >= c.Min) || math.IsInf(float64(c.Min), 0) || math.IsInf(float64(c.Max), 0) {
			return Range{}, fmt.Errorf("%w: int8: blob %q channel %d: unusable range %v", ErrFormat, blob, j, c)
		}
		if mul != nil {
			m := float32(math.Abs(float64(mul[j]))) // the sign flip is in the calibrated ranges
			c = Range{c.Min * m, c.Max * m}
		}
		r = r.union(c)
	}
	return r, nil
}

// quantize writes QuantizeLinear of the float value x on grid q, and, with dequant, the
// DequantizeLinear after it. It returns the dequantized value's name (the codes are name+".u8").
func (w *int8Writer) quantize(x string, q quant, dequant bool) string {
	y := x + ".q"
	s, z := y+".scale", y+".zero"
	_ = w.g.Initializer(s, onnx.Float, nil, []float32{q.scale})
	_ = w.g.Initializer(z, onnx.Uint8, nil, []uint8{q.zero})
	w.g.Node("QuantizeLinear", []string{x, s, z}, []string{y + ".u8"})
	if dequant {
		w.g.Node("DequantizeLinear", []string{y + ".u8", s, z}, []string{y})
	}
	w.quants[y] = q
	return y
}

// conv writes a Convolution reading x, with its input columns multiplied by inMul and its output
// rows (weights and bias) by outMul (nil: 1). In the int8 graph x is a dequantized value.
func (w *int8Writer) conv(l *Layer, s convSpec, x, out string, inMul, outMul []float32) {
	g := w.g
	kk := s.kh * s.kw
	wt := append([]float32(nil), l.Weights[0]...)
	bias := make([]float32, s.out)
	if s.bias {
		copy(bias, l.Weights[1])
	}
	for o := range s.out {
		for i := range s.in {
			m := float32(1)
			if outMul != nil {
				m *= outMul[o]
			}
			if inMul != nil {
				m *= inMul[i]
			}
			if m != 1 {
				row := wt[(o*s.in+i)*kk : (o*s.in+i+1)*kk]
				for k := range row {
					row[k] *= m
				}
			}
		}
		if outMul != nil {
			bias[o] *= outMul[o]
		}
	}
	dims := []int64{int64(s.out), int64(s.in), int64(s.kh), int64(s.kw)}
	attrs := []onnx.Attr{
		onnx.AttrInts("kernel_shape", int64(s.kh), int64(s.kw)),
		onnx.AttrInts("strides", int64(s.sh), int64(s.sw)),
		onnx.AttrInts("dilations", int64(s.dh), int64(s.dw)),
		onnx.AttrInts("pads", int64(s.padT), int64(s.padL), int64(s.padB), int64(s.padR)),
	}
	name := l.Name
	if w.float {
		if w.cfg.WeightsOnly {
			wq, ws := quantizeWeights(wt, s.out)
			per := len(wt) / s.out
			for i, q := range wq {
				wt[i] = float32(q) * ws[i/per]
			}
		}
		_ = g.Initializer(name+".weight", onnx.Float, dims, wt)
		_ = g.Initializer(name+".bias", onnx.Float, []int64{int64(s.out)}, bias)
		g.Node("Conv", []string{x, name + ".weight", name + ".bias"}, []string{out}, attrs...)
		return
	}
	wq, ws := quantizeWeights(wt, s.out)
	bq := make([]int32, s.out)
	bs := make([]float32, s.out)
	xs := w.quants[x].scale
	for o := range s.out {
		bs[o] = xs * ws[o]
		bq[o] = int32(max(math.MinInt32, min(math.MaxInt32, math.Round(float64(bias[o])/float64(bs[o])))))
	}
	oc := []int64{int64(s.out)}
	_ = g.Initializer(name+".wq", onnx.Int8, dims, wq)
	_ = g.Initializer(name+".ws", onnx.Float, oc, ws)
	_ = g.Initializer(name+".wz", onnx.Int8, oc, make([]int8, s.out))
	_ = g.Initializer(name+".bq", onnx.Int32, oc, bq)
	_ = g.Initializer(name+".bs", onnx.Float, oc, bs)
	_ = g.Initializer(name+".bz", onnx.Int32, oc, make([]int32, s.out))
	g.Node("DequantizeLinear", []string{name + ".wq", name + ".ws", name + ".wz"}, []string{name + ".weight"}, onnx.AttrInt("axis", 0))
	g.Node("DequantizeLinear", []string{name + ".bq", name + ".bs", name + ".bz"}, []string{name + ".bias"}, onnx.AttrInt("axis", 0))
	g.Node("Conv", []string{x, name + ".weight", name + ".bias"}, []string{out}, attrs...)
}

// quantizeWeights returns the weights of out output channels as int8 codes, symmetric, with one
// scale per output channel: its largest magnitude maps to 127.
func quantizeWeights(wt []float32, out int) ([]int8, []float32) {
	per := len(wt) / out
	wq := make([]int8, len(wt))
	ws := make([]float32, out)
	for o := range out {
		m := 0.0
		for _, v := range wt[o*per : (o+1)*per] {
			m = max(m, math.Abs(float64(v)))
		}
		ws[o] = float32(max(m, 1e-30) / 127)
		for k, v := range wt[o*per : (o+1)*per] {
			wq[o*per+k] = int8(max(-127, min(127, math.Round(float64(v/ws[o])))))
		}
	}
	return wq, ws
}

// slopes returns PReLU l's slope per channel.
func slopes(l *Layer, c int) []float32 {
	a := make([]float32, c)
	for j := range a {
		a[j] = l.Weights[0][min(j, len(l.Weights[0])-1)]
	}
	return a
}

// floatPReLU writes the calibration graph's PReLU: Max(x, a*x) on the sign-flipped channels.
func (w *int8Writer) floatPReLU(l *Layer, x, y string, c int) {
	_ = w.g.Initializer(l.Name+".slope", onnx.Float, []int64{1, int64(c), 1, 1}, slopes(l, c))
	ax := w.g.Node("Mul", []string{x, l.Name + ".slope"}, []string{l.Name + ".ax"})
	w.g.Node("Max", []string{x, ax[0]}, []string{y})
}

// int8PReLU writes PReLU l on the codes of its input x (x+".u8", the grid of x) in the form
// cfg.PReLU selects, and returns the dequantized output's name.
func (w *int8Writer) int8PReLU(l *Layer, x, y string, c int) string {
	g := w.g
	q := w.quants[x]
	name := l.Name
	s, z := x+".scale", x+".zero" // the grid's, as quantize named them
	codes := x + ".u8"
	yq := y + ".q"
	a := slopes(l, c)
	shape := []int64{1, int64(c), 1, 1}
	switch w.cfg.PReLU {
	case Int8MaxExact, Int8MaxMul:
		g.Node("DequantizeLinear", []string{codes, s, z}, []string{name + ".x"})
		if w.cfg.PReLU == Int8MaxExact {
			_ = g.Initializer(name+".slope", onnx.Float, shape, a)
		} else {
			var r Range
			for _, v := range a {
				r = r.union(Range{v, v})
			}
			aq := r.quant()
			ac := make([]uint8, c)
			for j, v := range a {
				ac[j] = uint8(max(0, min(255, math.Round(float64(v/aq.scale))+float64(aq.zero))))
			}
			_ = g.Initializer(name+".slope.u8", onnx.Uint8, shape, ac)
			_ = g.Initializer(name+".slope.scale", onnx.Float, nil, []float32{aq.scale})
			_ = g.Initializer(name+".slope.zero", onnx.Uint8, nil, []uint8{aq.zero})
			g.Node("DequantizeLinear", []string{name + ".slope.u8", name + ".slope.scale", name + ".slope.zero"}, []string{name + ".slope"})
		}
		g.Node("Mul", []string{name + ".x", name + ".slope"}, []string{name + ".ax"})
		g.Node("QuantizeLinear", []string{name + ".ax", s, z}, []string{name + ".ax.u8"})
		g.Node("Max", []string{codes, name + ".ax.u8"}, []string{yq + ".u8"})
	case Int8MaxFloat, Int8PRelu:
		g.Node("DequantizeLinear", []string{codes, s, z}, []string{name + ".x"})
		if w.cfg.PReLU == Int8MaxFloat {
			_ = g.Initializer(name+".slope", onnx.Float, shape, a)
			g.Node("Mul", []string{name + ".x", name + ".slope"}, []string{name + ".ax"})
			g.Node("Max", []string{name + ".x", name + ".ax"}, []string{name + ".y"})
		} else {
			_ = g.Initializer(name+".slope", onnx.Float, []int64{int64(c), 1, 1}, a)
			g.Node("PRelu", []string{name + ".x", name + ".slope"}, []string{name + ".y"})
		}
		g.Node("QuantizeLinear", []string{name + ".y", s, z}, []string{yq + ".u8"})
	}
	g.Node("DequantizeLinear", []string{yq + ".u8", s, z}, []string{yq})
	w.quants[yq] = q
	return yq
}
