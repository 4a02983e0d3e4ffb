package synthetic

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// weights writes random parameters, one after another, into a graph's external-data file.
// Offsets are aligned to 4 KiB so that ONNX Runtime can map them. With a nil file nothing is
// drawn or written (structure only: the graph is still complete, for counting).
type weights struct {
	location string // file name, relative to the model
	f        *os.File
	w        *bufio.Writer
	off      int64
	dtype    onnx.DType // Float16 or Float
	seed     uint64
	buf      []byte
}

const align = 4096

// draw appends n values uniform in mean ± sqrt(3)*std (standard deviation std) and returns their
// offset and length. The values depend only on the seed and the parameter's name, so a parameter
// has the same values in every graph that holds it (the cached-K/V variant moves some).
func (w *weights) draw(name string, n int64, mean, std float64) (off, length int64, err error) {
	size := int64(2)
	if w.dtype == onnx.Float {
		size = 4
	}
	if pad := (align - w.off%align) % align; pad > 0 {
		if w.f != nil {
			if _, err := w.w.Write(make([]byte, pad)); err != nil {
				return 0, 0, err
			}
		}
		w.off += pad
	}
	off, length = w.off, n*size
	w.off += length
	if w.f == nil {
		return off, length, nil
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(w.seed, h.Sum64()))
	a := math.Sqrt(3) * std
	for n > 0 {
		k := min(n, 1<<16)
		w.buf = w.buf[:0]
		for range k {
			v := float32(mean + a*(2*rng.Float64()-1))
			if size == 2 {
				h := onnx.Float32ToFloat16(v)
				w.buf = append(w.buf, byte(h), byte(h>>8))
			} else {
				u := math.Float32bits(v)
				w.buf = append(w.buf, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
			}
		}
		if _, err := w.w.Write(w.buf); err != nil {
			return 0, 0, err
		}
		n -= k
	}
	return off, length, nil
}

func (w *weights) close() error {
	if w.f == nil {
		return nil
	}
	err := w.w.Flush()
	if e := w.f.Close(); err == nil {
		err = e
	}
	return err
}

// builder adds the layers of one graph. Parameters are initializers (and only parameters: shapes,
// axes and other constants are Constant nodes), so the initializers count the parameters.
type builder struct {
	g      *onnx.Graph
	w      *weights
	ct     onnx.DType // compute type: Float or Float16
	n      int
	params int64
	err    error
}

func (b *builder) fail(err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
}

// v returns a fresh value name.
func (b *builder) v(what string) string {
	b.n++
	return what + "_" + strconv.Itoa(b.n)
}

func (b *builder) op(op string, ins []string, attrs ...onnx.Attr) string {
	return b.g.Node(op, ins, []string{b.v(op)}, attrs...)[0]
}

// param adds a parameter of the given dims, random with the given mean and deviation, and returns
// its value in the compute type.
func (b *builder) param(name string, mean, std float64, dims ...int64) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	off, length, err := b.w.draw(name, n, mean, std)
	b.fail(err)
	b.fail(b.g.ExternalInitializer(name, b.w.dtype, dims, b.w.location, off, length))
	b.params += n
	if b.w.dtype == b.ct {
		return name
	}
	return b.g.Node("Cast", []string{name}, []string{name + "_c"}, onnx.AttrInt("to", int64(b.ct)))[0]
}

// weight is a matrix or kernel with fan-in fanIn (deviation 1/sqrt(fanIn)).
func (b *builder) weight(name string, fanIn int64, dims ...int64) string {
	return b.param(name, 0, 1/math.Sqrt(float64(fanIn)), dims...)
}

// ints is an int64 Constant.
func (b *builder) ints(v ...int64) string {
	return b.g.Node("Constant", nil, []string{b.v("ints")}, onnx.AttrTensor("value", onnx.Int64, []int64{int64(len(v))}, v))[0]
}

// floats is a Constant of the compute type with the given dims.
func (b *builder) floats(dims []int64, v ...float32) string {
	if b.ct == onnx.Float16 {
		h := make([]uint16, len(v))
		for i, x := range v {
			h[i] = onnx.Float32ToFloat16(x)
		}
		return b.g.Node("Constant", nil, []string{b.v("half")}, onnx.AttrTensor("value", onnx.Float16, dims, h))[0]
	}
	return b.g.Node("Constant", nil, []string{b.v("float")}, onnx.AttrTensor("value", onnx.Float, dims, v))[0]
}

func (b *builder) scalar(v float32) string { return b.floats(nil, v) }

// input declares a graph input of type t and returns it in the compute type.
func (b *builder) input(name string, t onnx.DType, shape ...int64) string {
	b.g.Input(name, t, shape...)
	if t == b.ct || t == onnx.Int64 {
		return name
	}
	return b.op("Cast", []string{name}, onnx.AttrInt("to", int64(b.ct)))
}

// output declares a graph output of type t fed by x.
func (b *builder) output(x, name string, t onnx.DType, shape ...int64) {
	b.g.Output(name, t, shape...)
	if t == b.ct {
		b.g.Node("Identity", []string{x}, []string{name})
		return
	}
	b.g.Node("Cast", []string{x}, []string{name}, onnx.AttrInt("to", int64(t)))
}

// conv is a k x k convolution with bias on NCHW x; pads are top, left, bottom, right.
func (b *builder) conv(x, name string, in, out, k, stride int64, pads ...int64) string {
	if pads == nil {
		p := k / 2
		pads = []int64{p, p, p, p}
	}
	w := b.weight(name+".weight", in*k*k, out, in, k, k)
	bias := b.param(name+".bias", 0, 0.02, out)
	return b.op("Conv", []string{x, w, bias}, onnx.AttrInts("kernel_shape", k, k),
		onnx.AttrInts("strides", stride, stride), onnx.AttrInts("pads", pads...))
}

// linear is x @ W (+ bias) on the last axis.
func (b *builder) linear(x, name string, in, out int64, bias bool) string {
	w := b.weight(name+".weight", in, in, out)
	y := b.op("MatMul", []string{x, w})
	if bias {
		y = b.op("Add", []string{y, b.param(name+".bias", 0, 0.02, out)})
	}
	return y
}

// groupNorm normalises NCHW x over groups of channels, as ONNX exporters write it before opset 18:
// InstanceNormalization on [B, G, -1], then the per-channel affine.
func (b *builder) groupNorm(x, name string, c, groups int64, eps float32) string {
	ones, zeros := make([]float32, groups), make([]float32, groups)
	for i := range ones {
		ones[i] = 1
	}
	r := b.op("Reshape", []string{x, b.ints(0, groups, -1)})
	r = b.op("InstanceNormalization", []string{r, b.floats([]int64{groups}, ones...), b.floats([]int64{groups}, zeros...)},
		onnx.AttrFloat("epsilon", eps))
	r = b.op("Reshape", []string{r, b.op("Shape", []string{x})})
	r = b.op("Mul", []string{r, b.param(name+".weight", 1, 0.02, c, 1, 1)})
	return b.op("Add", []string{r, b.param(name+".bias", 0, 0.02, c, 1, 1)})
}

// layerNorm normalises the last axis of x (width c).
func (b *builder) layerNorm(x, name string, c int64, eps float32) string {
	return b.op("LayerNormalization", []string{x, b.param(name+".weight", 1, 0.02, c), b.param(name+".bias", 0, 0.02, c)},
		onnx.AttrInt("axis", -1), onnx.AttrFloat("epsilon", eps))
}

func (b *builder) silu(x string) string {
	return b.op("Mul", []string{x, b.op("Sigmoid", []string{x})})
}

// gelu is the exact GELU, x/2 (1 + erf(x/sqrt 2)), which ONNX Runtime fuses.
func (b *builder) gelu(x string) string {
	e := b.op("Erf", []string{b.op("Div", []string{x, b.scalar(float32(math.Sqrt2))})})
	e = b.op("Add", []string{e, b.scalar(1)})
	return b.op("Mul", []string{b.op("Mul", []string{x, e}), b.scalar(0.5)})
}

// heads splits [B, N, C] into [B, h, N, C/h] (or [B, h, C/h, N] when transposed, for keys).
func (b *builder) heads(x string, h, c int64, keys bool) string {
	r := b.op("Reshape", []string{x, b.ints(0, 0, h, c/h)})
	perm := []int64{0, 2, 1, 3}
	if keys {
		perm = []int64{0, 2, 3, 1}
	}
	return b.op("Transpose", []string{r}, onnx.AttrInts("perm", perm...))
}

// sdpa is softmax(q k^T / sqrt(d)) v on [B, h, N, d] queries, [B, h, d, M] keys and [B, h, M, d]
// values, merged back to [B, N, C].
func (b *builder) sdpa(q, k, v string, h, c int64) string {
	q = b.op("Mul", []string{q, b.scalar(float32(1 / math.Sqrt(float64(c/h))))})
	s := b.op("Softmax", []string{b.op("MatMul", []string{q, k})}, onnx.AttrInt("axis", -1))
	o := b.op("Transpose", []string{b.op("MatMul", []string{s, v})}, onnx.AttrInts("perm", 0, 2, 1, 3))
	return b.op("Reshape", []string{o, b.ints(0, 0, c)})
}

// attention is diffusers' Attention: x [B, N, c] attends to ctx [B, M, e] (ctx = x for self
// attention) with h heads. kv, when set, supplies precomputed [keys, values] instead of
// projecting ctx (the cached-K/V denoiser).
func (b *builder) attention(x, ctx, name string, c, e, h int64, kv *[2]string) string {
	q := b.heads(b.linear(x, name+".to_q", c, c, false), h, c, false)
	var k, v string
	if kv != nil {
		k, v = kv[0], kv[1]
	} else {
		k = b.heads(b.linear(ctx, name+".to_k", e, c, false), h, c, true)
		v = b.heads(b.linear(ctx, name+".to_v", e, c, false), h, c, false)
	}
	return b.linear(b.sdpa(q, k, v, h, c), name+".to_out.0", c, c, true)
}

// transformer is a Transformer2DModel (linear projections, one BasicTransformerBlock) on NCHW x
// of c channels with cross-attention to ctx [B, M, e].
func (b *builder) transformer(x, ctx, name string, c, e, h, groups int64, kv *[2]string) string {
	t := b.groupNorm(x, name+".norm", c, groups, 1e-6)
	t = b.op("Transpose", []string{b.op("Reshape", []string{t, b.ints(0, c, -1)})}, onnx.AttrInts("perm", 0, 2, 1))
	t = b.linear(t, name+".proj_in", c, c, true)
	blk := name + ".transformer_blocks.0"
	n0 := b.layerNorm(t, blk+".norm1", c, 1e-5)
	t = b.op("Add", []string{t, b.attention(n0, n0, blk+".attn1", c, c, h, nil)})
	n1 := b.layerNorm(t, blk+".norm2", c, 1e-5)
	t = b.op("Add", []string{t, b.attention(n1, ctx, blk+".attn2", c, e, h, kv)})
	f := b.linear(b.layerNorm(t, blk+".norm3", c, 1e-5), blk+".ff.net.0.proj", c, 8*c, true)
	halves := b.g.Node("Split", []string{f}, []string{b.v("geglu_x"), b.v("geglu_gate")}, onnx.AttrInt("axis", -1))
	f = b.op("Mul", []string{halves[0], b.gelu(halves[1])})
	t = b.op("Add", []string{t, b.linear(f, blk+".ff.net.2", 4*c, c, true)})
	t = b.linear(t, name+".proj_out", c, c, true)
	t = b.op("Reshape", []string{b.op("Transpose", []string{t}, onnx.AttrInts("perm", 0, 2, 1)), b.op("Shape", []string{x})})
	return b.op("Add", []string{t, x})
}

// upsample is nearest-neighbour x2 then a 3x3 convolution. With like set, the output takes its
// height and width instead (diffusers' upsample_size: odd sizes on the way down).
func (b *builder) upsample(x, like, name string, c int64) string {
	sizes := b.op("Mul", []string{b.op("Shape", []string{x}), b.ints(1, 1, 2, 2)})
	if like != "" {
		sizes = b.op("Concat", []string{b.op("Shape", []string{x}, onnx.AttrInt("end", 2)),
			b.op("Shape", []string{like}, onnx.AttrInt("start", 2))}, onnx.AttrInt("axis", 0))
	}
	u := b.op("Resize", []string{x, "", "", sizes}, onnx.AttrString("mode", "nearest"),
		onnx.AttrString("nearest_mode", "floor"), onnx.AttrString("coordinate_transformation_mode", "asymmetric"))
	return b.conv(u, name+".conv", c, c, 3, 1)
}

// resnet is a ResnetBlock2D; temb (already SiLU'd, [B, tembDim]) may be "".
func (b *builder) resnet(x, temb, name string, in, out, tembDim, groups int64, eps float32) string {
	h := b.conv(b.silu(b.groupNorm(x, name+".norm1", in, groups, eps)), name+".conv1", in, out, 3, 1)
	if temb != "" {
		t := b.linear(temb, name+".time_emb_proj", tembDim, out, true)
		h = b.op("Add", []string{h, b.op("Unsqueeze", []string{t, b.ints(2, 3)})})
	}
	h = b.conv(b.silu(b.groupNorm(h, name+".norm2", out, groups, eps)), name+".conv2", out, out, 3, 1)
	if in != out {
		x = b.conv(x, name+".conv_shortcut", in, out, 1, 1)
	}
	return b.op("Add", []string{x, h})
}

func (b *builder) marshal(path string) error {
	if b.err != nil {
		return b.err
	}
	m, err := b.g.Marshal(17)
	if err != nil {
		return err
	}
	if err := b.w.close(); err != nil {
		return err
	}
	if path == "" {
		return nil
	}
	if err := os.WriteFile(path, m, 0o644); err != nil {
		return fmt.Errorf("synthetic: %w", err)
	}
	return nil
}
