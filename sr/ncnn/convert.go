package ncnn

import (
	"fmt"
	"os"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// PReLUMode selects how PReLU layers are written to ONNX.
//
// Timings of realesrgan-x4fast (33 PReLU layers of 64 channels, slopes in [-1.6, 1.9]) in ONNX
// Runtime 1.30 on the CPU, one thread, 128x128 input: without its PReLUs the net takes ~150 ms;
// PRelu ~170 ms; Max(x, a*x) (slopes clamped to [0,1] so that it applies) ~3% slower than PRelu;
// the affine form ~5% faster than PRelu. ONNX Runtime keeps Relu, Mul and Add in its blocked
// NCHWc layout, but not PRelu or Max. GPU providers may prefer PRelu's single kernel.
type PReLUMode int

const (
	// PReLUAuto writes LeakyRelu when all slopes are equal (ONNX Runtime fuses it into the
	// convolution before it) and the depthwise form otherwise.
	PReLUAuto PReLUMode = iota
	// PReLUDepthwise writes x + (1-a)*Relu(-x) with the two per-channel scalings as depthwise 1x1
	// convolutions: Conv+Relu and Conv+Add fuse, so ONNX Runtime's CPU provider keeps the whole net
	// in its blocked NCHWc layout instead of reordering around every PReLU (about 40% faster for
	// x4fast on 2 cores, measured with BenchmarkX4FastPReLU in sr/realesrgan).
	PReLUDepthwise
	// PReLUAffine writes a*x + (1-a)*Relu(x) with per-channel a (four elementwise nodes).
	PReLUAffine
	// PReLUMax writes Max(x, a*x) when every slope is in [0,1] and PRelu otherwise.
	PReLUMax
	// PReLUOp always writes one ONNX PRelu node.
	PReLUOp
)

// Options tunes Convert.
type Options struct {
	// Opset is the ONNX default-domain opset version (optional). It defaults to 17.
	Opset int64
	// Batch is the input's batch dimension (optional). It defaults to 1; -1 makes it dynamic.
	Batch int64
	// PReLU selects how PReLU layers are written (optional). It defaults to PReLUAuto.
	PReLU PReLUMode
	// FP16 writes every weight, bias, slope and constant operand as a float16 initializer and runs
	// the whole net in float16, between a Cast of the float32 input to float16 and a Cast of the
	// result back to float32 (optional). It defaults to false: float32 throughout. The graph's
	// input and output stay float32 either way, so callers feed and read the same tensors; only
	// Resize's scales stay float32 (ONNX requires it). fp16 weights from the .bin are kept bit for
	// bit; fp32 ones are rounded to nearest even.
	FP16 bool
	// Append continues the graph after the net (optional). It is called with the graph and the name
	// of the net's float32 result ([N,C,H*scale,W*scale]), may declare more inputs, and must add the
	// nodes that produce the float32 graph output "output" ([N,C,?,?]) from it. It defaults to nil:
	// the result is the output.
	Append func(g *onnx.Graph, result string)
}

// Version changes whenever Convert's output for the same model changes; caches of converted
// models key on it.
const Version = 2

// Graph input and output names.
const (
	InputName  = "input"
	OutputName = "output"
)

// Names of the values at the graph's ends that are not its input and output: the float16 sides of
// an Options.FP16 graph's boundary casts, and the result handed to Options.Append.
const (
	input16   = InputName + ".fp16"
	output16  = OutputName + ".fp16"
	resultNet = OutputName + ".net"
)

// Convert returns n, with its weights loaded, as a serialized ONNX model with input "input"
// (float [1,C,H,W], H and W dynamic) and output "output". Weights are stored as fp32, so the
// result is about twice the size of an fp16 .bin (ConvertOptions with FP16 writes fp16).
func Convert(n *Net) ([]byte, error) {
	return ConvertOptions(n, Options{})
}

// ConvertFiles reads a .param and .bin pair and converts it with Convert.
func ConvertFiles(paramPath, binPath string) ([]byte, error) {
	n, err := ReadFiles(paramPath, binPath)
	if err != nil {
		return nil, err
	}
	return Convert(n)
}

// ReadFiles parses a .param file and loads its .bin.
func ReadFiles(paramPath, binPath string) (*Net, error) {
	pf, err := os.Open(paramPath)
	if err != nil {
		return nil, fmt.Errorf("ncnn: %w", err)
	}
	defer pf.Close()
	n, err := ParseParam(pf)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, paramPath)
	}
	bf, err := os.Open(binPath)
	if err != nil {
		return nil, fmt.Errorf("ncnn: %w", err)
	}
	defer bf.Close()
	if err := n.LoadBin(bf); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, binPath)
	}
	return n, nil
}

// blobInfo is what shape inference knows about a blob: its channel count and its size relative to
// the input (0 when not a fixed factor).
type blobInfo struct {
	c     int
	scale float64
}

// shapes infers every blob's channels and scale, checking that layers fit together. It returns the
// blob info and the single output blob.
func (n *Net) shapes() (map[string]blobInfo, string, error) {
	info := map[string]blobInfo{}
	consumed := map[string]bool{}
	inputs := 0
	for _, l := range n.Layers {
		in := make([]blobInfo, len(l.Bottoms))
		for i, b := range l.Bottoms {
			in[i] = info[b]
			consumed[b] = true
		}
		sameScale := func() float64 {
			s := in[0].scale
			for _, x := range in[1:] {
				if x.scale != s {
					return 0
				}
			}
			return s
		}
		sameChannels := func() error {
			for i, x := range in[1:] {
				if x.c != in[0].c {
					return l.errorf("input %d has %d channels, input 0 has %d", i+1, x.c, in[0].c)
				}
			}
			return nil
		}
		var out blobInfo
		switch s := l.spec.(type) {
		case inputSpec:
			inputs++
			out = blobInfo{c: 3, scale: 1}
			if s.c > 0 {
				out.c = s.c
			}
		case convSpec:
			if in[0].c != s.in {
				return nil, "", l.errorf("%v on a %d-channel input", s, in[0].c)
			}
			out = blobInfo{c: s.out}
			if s.sw == 1 && s.sh == 1 && s.padL+s.padR == s.dw*(s.kw-1) && s.padT+s.padB == s.dh*(s.kh-1) {
				out.scale = in[0].scale
			}
		case preluSpec:
			if s.slopes != 1 && s.slopes != in[0].c {
				return nil, "", l.errorf("%d slopes for %d channels", s.slopes, in[0].c)
			}
			out = in[0]
		case pixelShuffleSpec:
			if in[0].c%(s.r*s.r) != 0 {
				return nil, "", l.errorf("%d channels do not divide by upscale_factor² = %d", in[0].c, s.r*s.r)
			}
			out = blobInfo{c: in[0].c / (s.r * s.r), scale: in[0].scale * float64(s.r)}
		case interpSpec:
			out = blobInfo{c: in[0].c}
			if s.hs == s.ws {
				out.scale = in[0].scale * float64(s.hs)
			}
		case binaryOpSpec, eltwiseSpec:
			if err := sameChannels(); err != nil {
				return nil, "", err
			}
			out = blobInfo{c: in[0].c, scale: sameScale()}
		case concatSpec:
			if s.axis == 0 {
				for _, x := range in {
					out.c += x.c
				}
				out.scale = sameScale()
			} else {
				if err := sameChannels(); err != nil {
					return nil, "", err
				}
				out.c = in[0].c
			}
		case nil: // Split
			out = in[0]
		}
		for _, t := range l.Tops {
			info[t] = out
		}
	}
	if inputs != 1 {
		return nil, "", fmt.Errorf("%w: %d Input layers, want 1", ErrFormat, inputs)
	}
	var outs []string
	for _, l := range n.Layers {
		if l.Type == "Split" {
			continue // ncnn's converters leave unused Split branches behind
		}
		for _, t := range l.Tops {
			if !consumed[t] {
				outs = append(outs, t)
			}
		}
	}
	if len(outs) != 1 {
		return nil, "", fmt.Errorf("%w: want one output blob, have %q", ErrFormat, outs)
	}
	return info, outs[0], nil
}

// Scale returns the model's upscaling factor (4 for Real-ESRGAN x4), or an error when the output is
// not an integer multiple of the input size.
func (n *Net) Scale() (int, error) {
	info, out, err := n.shapes()
	if err != nil {
		return 0, err
	}
	s := info[out].scale
	if s < 1 || s != float64(int(s)) {
		return 0, fmt.Errorf("%w: output is not an integer multiple of the input size", ErrFormat)
	}
	return int(s), nil
}

// ConvertOptions is Convert with options.
func ConvertOptions(n *Net, opts Options) ([]byte, error) {
	if opts.Opset == 0 {
		opts.Opset = 17
	}
	if opts.Batch == 0 {
		opts.Batch = 1
	}
	info, outBlob, err := n.shapes()
	if err != nil {
		return nil, err
	}
	names := map[string]int{}
	for _, l := range n.Layers {
		names[l.Name]++
	}

	g := onnx.NewGraph("ncnn")
	// constant adds a float operand: float16 bits in an FP16 graph, else float32.
	constant := func(name string, dims []int64, v []float32) {
		if !opts.FP16 {
			_ = g.Initializer(name, onnx.Float, dims, v)
			return
		}
		h := make([]uint16, len(v))
		for i, x := range v {
			h[i] = onnx.Float32ToFloat16(x)
		}
		_ = g.Initializer(name, onnx.Float16, dims, h)
	}
	result := OutputName // the net's float32 result
	if opts.Append != nil {
		result = resultNet
	}
	outName := result // what the layer producing the output blob writes
	if opts.FP16 {
		outName = output16
	}
	value := map[string]string{} // ncnn blob -> ONNX value
	for _, l := range n.Layers {
		// ONNX names for this layer's constants and intermediate values.
		prefix := l.Name
		if names[l.Name] > 1 {
			prefix = fmt.Sprintf("%s@%d", l.Name, l.Index)
		}
		in := make([]string, len(l.Bottoms))
		for i, b := range l.Bottoms {
			in[i] = value[b]
		}
		out := ""
		if len(l.Tops) == 1 {
			switch t := l.Tops[0]; {
			case t == outBlob:
				out = outName
			case t == OutputName || t == InputName || t == input16 || t == output16 || t == resultNet:
				out = t + "@ncnn"
			default:
				out = t
			}
			value[l.Tops[0]] = out
		}
		scalar := func(suffix string, v float32) string {
			name := prefix + "." + suffix
			constant(name, nil, []float32{v})
			return name
		}
		if want := len(l.blobSizesOnly()); len(l.Weights) != want {
			return nil, fmt.Errorf("%w: %v: %d weight blobs loaded, want %d (call LoadBin first)", ErrFormat, l, len(l.Weights), want)
		}

		switch s := l.spec.(type) {
		case inputSpec:
			value[l.Tops[0]] = InputName
			g.Input(InputName, onnx.Float, opts.Batch, int64(info[l.Tops[0]].c), -1, -1)
			if opts.FP16 {
				value[l.Tops[0]] = g.Node("Cast", []string{InputName}, []string{input16}, onnx.AttrInt("to", int64(onnx.Float16)))[0]
			}

		case nil: // Split: every top is the bottom
			for _, t := range l.Tops {
				value[t] = in[0]
			}

		case convSpec:
			w := prefix + ".weight"
			constant(w, []int64{int64(s.out), int64(s.in), int64(s.kh), int64(s.kw)}, l.Weights[0])
			inputs := []string{in[0], w}
			if s.bias {
				b := prefix + ".bias"
				constant(b, []int64{int64(s.out)}, l.Weights[1])
				inputs = append(inputs, b)
			}
			conv := out
			if s.act != 0 {
				conv = prefix + ".conv"
			}
			g.Node("Conv", inputs, []string{conv},
				onnx.AttrInts("kernel_shape", int64(s.kh), int64(s.kw)),
				onnx.AttrInts("strides", int64(s.sh), int64(s.sw)),
				onnx.AttrInts("dilations", int64(s.dh), int64(s.dw)),
				onnx.AttrInts("pads", int64(s.padT), int64(s.padL), int64(s.padB), int64(s.padR)))
			switch s.act {
			case 1:
				g.Node("Relu", []string{conv}, []string{out})
			case 2:
				g.Node("LeakyRelu", []string{conv}, []string{out}, onnx.AttrFloat("alpha", s.actParams[0]))
			case 3:
				g.Node("Clip", []string{conv, scalar("min", s.actParams[0]), scalar("max", s.actParams[1])}, []string{out})
			case 4:
				g.Node("Sigmoid", []string{conv}, []string{out})
			}

		case preluSpec:
			convertPReLU(g, constant, opts.PReLU, prefix, in[0], out, info[l.Bottoms[0]].c, l.Weights[0])

		case pixelShuffleSpec:
			mode := "CRD" // ncnn mode 0: q = p*r*r + sh*r + sw, as torch.pixel_shuffle
			if s.mode == 1 {
				mode = "DCR"
			}
			g.Node("DepthToSpace", in, []string{out}, onnx.AttrInt("blocksize", int64(s.r)), onnx.AttrString("mode", mode))

		case interpSpec:
			scales := prefix + ".scales"
			_ = g.Initializer(scales, onnx.Float, []int64{4}, []float32{1, 1, s.hs, s.ws})
			attrs := []onnx.Attr{onnx.AttrString("mode", "nearest"),
				onnx.AttrString("coordinate_transformation_mode", "asymmetric"), // ncnn: src = floor(dst / scale)
				onnx.AttrString("nearest_mode", "floor")}
			if s.typ == 2 {
				ctm := "half_pixel" // ncnn: src = (dst + 0.5) / scale - 0.5, clamped to the edges
				if s.alignCorner {
					ctm = "align_corners"
				}
				attrs = []onnx.Attr{onnx.AttrString("mode", "linear"), onnx.AttrString("coordinate_transformation_mode", ctm)}
			}
			g.Node("Resize", []string{in[0], "", scales}, []string{out}, attrs...)

		case binaryOpSpec:
			a, b := in[0], ""
			if s.withScalar {
				b = scalar("b", s.b)
			} else {
				b = in[1]
			}
			op := [...]string{"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Sub", "Div"}[s.op]
			if s.op == opRSub || s.op == opRDiv {
				a, b = b, a
			}
			g.Node(op, []string{a, b}, []string{out})

		case eltwiseSpec:
			switch s.op {
			case 0: // Mul is binary: chain it
				acc := in[0]
				for i, x := range in[1:] {
					dst := out
					if i < len(in)-2 {
						dst = fmt.Sprintf("%s.prod%d", prefix, i)
					}
					acc = g.Node("Mul", []string{acc, x}, []string{dst})[0]
				}
			case 2:
				g.Node("Max", in, []string{out})
			case 1:
				terms := make([]string, len(in))
				for i, x := range in {
					terms[i] = x
					if len(s.coeffs) > 0 && s.coeffs[i] != 1 {
						terms[i] = g.Node("Mul", []string{x, scalar(fmt.Sprintf("coeff%d", i), s.coeffs[i])},
							[]string{fmt.Sprintf("%s.term%d", prefix, i)})[0]
					}
				}
				op := "Sum"
				if len(terms) == 2 {
					op = "Add"
				}
				g.Node(op, terms, []string{out})
			}

		case concatSpec:
			g.Node("Concat", in, []string{out}, onnx.AttrInt("axis", int64(s.axis+1)))
		}
	}
	switch v := value[outBlob]; {
	case opts.FP16:
		g.Node("Cast", []string{v}, []string{result}, onnx.AttrInt("to", int64(onnx.Float)))
	case v != result: // the output is the Input blob itself
		g.Node("Identity", []string{v}, []string{result})
	}
	if opts.Append != nil {
		opts.Append(g, result)
	}
	g.Output(OutputName, onnx.Float, opts.Batch, int64(info[outBlob].c), -1, -1)
	b, err := g.Marshal(opts.Opset)
	if err != nil {
		return nil, fmt.Errorf("%w: convert: %w", ErrFormat, err)
	}
	return b, nil
}

// convertPReLU writes y = x >= 0 ? x : a*x for per-channel (or single) slopes a, adding its
// operands with constant.
func convertPReLU(g *onnx.Graph, constant func(name string, dims []int64, v []float32), mode PReLUMode, prefix, x, y string, channels int, slopes []float32) {
	equal, unit := true, true
	for _, a := range slopes {
		equal = equal && a == slopes[0]
		unit = unit && a >= 0 && a <= 1
	}
	switch {
	case mode == PReLUAuto && equal:
		g.Node("LeakyRelu", []string{x}, []string{y}, onnx.AttrFloat("alpha", slopes[0]))

	case mode == PReLUAuto || mode == PReLUDepthwise:
		// x >= 0: Relu(-x) = 0, y = x; x < 0: y = x - (1-a)*x = a*x.
		neg, keep := make([]float32, channels), make([]float32, channels)
		for i := range neg {
			neg[i] = -1
			keep[i] = 1 - slopes[min(i, len(slopes)-1)]
		}
		c := int64(channels)
		constant(prefix+".neg", []int64{c, 1, 1, 1}, neg)
		constant(prefix+".1-slope", []int64{c, 1, 1, 1}, keep)
		n := g.Node("Conv", []string{x, prefix + ".neg"}, []string{prefix + ".negx"}, onnx.AttrInt("group", c))
		r := g.Node("Relu", n, []string{prefix + ".relu"})
		s := g.Node("Conv", []string{r[0], prefix + ".1-slope"}, []string{prefix + ".scaled"}, onnx.AttrInt("group", c))
		g.Node("Add", []string{x, s[0]}, []string{y})

	case mode == PReLUAffine:
		// x >= 0: a*x + (1-a)*x = x; x < 0: a*x + 0.
		a, b := make([]float32, channels), make([]float32, channels)
		for i := range a {
			a[i] = slopes[min(i, len(slopes)-1)]
			b[i] = 1 - a[i]
		}
		constant(prefix+".slope", []int64{1, int64(channels), 1, 1}, a)
		constant(prefix+".1-slope", []int64{1, int64(channels), 1, 1}, b)
		r := g.Node("Relu", []string{x}, []string{prefix + ".relu"})
		ax := g.Node("Mul", []string{x, prefix + ".slope"}, []string{prefix + ".ax"})
		br := g.Node("Mul", []string{r[0], prefix + ".1-slope"}, []string{prefix + ".br"})
		g.Node("Add", []string{ax[0], br[0]}, []string{y})

	case mode == PReLUMax && unit:
		// For 0 <= a <= 1: x >= 0 gives a*x <= x, x < 0 gives a*x >= x, so max(x, a*x) is PReLU.
		constant(prefix+".slope", []int64{1, int64(len(slopes)), 1, 1}, slopes)
		ax := g.Node("Mul", []string{x, prefix + ".slope"}, []string{prefix + ".ax"})
		g.Node("Max", []string{x, ax[0]}, []string{y})

	default:
		constant(prefix+".slope", []int64{int64(len(slopes)), 1, 1}, slopes)
		g.Node("PRelu", []string{x, prefix + ".slope"}, []string{y})
	}
}

// blobSizesOnly returns blobSizes' sizes.
func (l *Layer) blobSizesOnly() []int {
	s, _ := l.blobSizes()
	return s
}
