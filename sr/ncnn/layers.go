package ncnn

import (
	"fmt"
	"math"
)

// Per-layer settings, checked and defaulted by checkLayer the way ncnn's load_param would.

type inputSpec struct{ c int } // 0: unknown (taken as 3)

type convSpec struct {
	out, in                int
	kw, kh, dw, dh, sw, sh int
	padL, padT, padR, padB int
	bias                   bool
	weights                int // weight_data_size
	act                    int // 0 none, 1 ReLU, 2 LeakyReLU, 3 clip, 4 sigmoid
	actParams              []float32
}

type preluSpec struct{ slopes int }

type pixelShuffleSpec struct{ r, mode int }

type interpSpec struct {
	typ         int // 1 nearest, 2 bilinear
	hs, ws      float32
	alignCorner bool
}

type binaryOpSpec struct {
	op         int
	withScalar bool
	b          float32
}

type eltwiseSpec struct {
	op     int // 0 prod, 1 sum, 2 max
	coeffs []float32
}

type concatSpec struct{ axis int }

// BinaryOp operation types (ncnn BinaryOp::OperationType).
const (
	opAdd = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
	opPow
	opRSub
	opRDiv
)

// checkLayer validates l's type, blob counts and parameters, and stores its spec.
func checkLayer(l *Layer) error {
	allowed := map[string][]int{
		"Input":        {0, 1, 2},
		"Split":        {},
		"Convolution":  {0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16},
		"PReLU":        {0},
		"PixelShuffle": {0, 1},
		"Interp":       {0, 1, 2, 3, 4, 5, 6},
		"BinaryOp":     {0, 1, 2},
		"Eltwise":      {0, 1},
		"Concat":       {0},
	}[l.Type]
	if allowed == nil {
		return l.unsupported("layer type")
	}
	for id := range l.Params {
		ok := false
		for _, a := range allowed {
			ok = ok || a == id
		}
		if !ok {
			return l.unsupported("parameter %d", id)
		}
	}

	counts := func(minB, maxB, minT, maxT int) error {
		nb, nt := len(l.Bottoms), len(l.Tops)
		if nb < minB || nb > maxB || nt < minT || nt > maxT {
			return l.errorf("%d inputs and %d outputs, want %d..%d and %d..%d", nb, nt, minB, maxB, minT, maxT)
		}
		return nil
	}
	var err error
	// iv returns int parameter id, or d when absent (ncnn's pd.get(id, d)).
	iv := func(id, d int) int {
		v, e := l.Int(id, d)
		if err == nil {
			err = e
		}
		return v
	}
	inRange := func(name string, v, lo, hi int) {
		if err == nil && (v < lo || v > hi) {
			err = l.errorf("%s = %d, want %d..%d", name, v, lo, hi)
		}
	}

	switch l.Type {
	case "Input":
		if err := counts(0, 0, 1, 1); err != nil {
			return err
		}
		c := iv(2, 0)
		inRange("c", c, 0, 1<<16)
		l.spec = inputSpec{c: c}

	case "Split":
		if err := counts(1, 1, 1, 1<<10); err != nil {
			return err
		}

	case "Convolution":
		if err := counts(1, 1, 1, 1); err != nil {
			return err
		}
		var s convSpec
		s.out = iv(0, 0)
		s.kw = iv(1, 0)
		s.kh = iv(11, s.kw)
		s.dw = iv(2, 1)
		s.dh = iv(12, s.dw)
		s.sw = iv(3, 1)
		s.sh = iv(13, s.sw)
		s.padL = iv(4, 0)
		s.padT = iv(14, s.padL)
		s.padR = iv(15, s.padL)
		s.padB = iv(16, s.padT)
		bias := iv(5, 0)
		s.weights = iv(6, 0)
		s.act = iv(9, 0)
		inRange("num_output", s.out, 1, 1<<16)
		inRange("kernel_w", s.kw, 1, 64)
		inRange("kernel_h", s.kh, 1, 64)
		inRange("dilation_w", s.dw, 1, 64)
		inRange("dilation_h", s.dh, 1, 64)
		inRange("stride_w", s.sw, 1, 64)
		inRange("stride_h", s.sh, 1, 64)
		for _, pad := range []int{s.padL, s.padT, s.padR, s.padB} {
			if err == nil && pad < 0 {
				return l.unsupported("automatic padding %d", pad)
			}
			inRange("pad", pad, 0, 1024)
		}
		inRange("bias_term", bias, 0, 1)
		inRange("weight_data_size", s.weights, 1, math.MaxInt32)
		if err != nil {
			return err
		}
		s.bias = bias == 1
		if k := s.out * s.kw * s.kh; s.weights%k != 0 {
			return l.errorf("weight_data_size %d is not a multiple of num_output*kernel_w*kernel_h = %d", s.weights, k)
		}
		s.in = s.weights / (s.out * s.kw * s.kh)
		if s.act < 0 || s.act > 4 {
			return l.unsupported("activation_type %d", s.act)
		}
		if s.actParams, err = l.Floats(10); err != nil {
			return err
		}
		if want := []int{0, 0, 1, 2, 0}[s.act]; len(s.actParams) < want {
			return l.errorf("activation_type %d needs %d activation params, has %d", s.act, want, len(s.actParams))
		}
		l.spec = s

	case "PReLU":
		if err := counts(1, 1, 1, 1); err != nil {
			return err
		}
		n := iv(0, 0)
		inRange("num_slope", n, 1, 1<<16)
		l.spec = preluSpec{slopes: n}

	case "PixelShuffle":
		if err := counts(1, 1, 1, 1); err != nil {
			return err
		}
		s := pixelShuffleSpec{r: iv(0, 1), mode: iv(1, 0)}
		inRange("upscale_factor", s.r, 1, 16)
		inRange("mode", s.mode, 0, 1)
		l.spec = s

	case "Interp":
		if err := counts(1, 1, 1, 1); err != nil {
			return err
		}
		p := []int{iv(0, 0), iv(3, 0), iv(4, 0), iv(5, 0), iv(6, 0)}
		if err != nil {
			return err
		}
		if p[0] != 1 && p[0] != 2 {
			return l.unsupported("resize_type %d (only 1 nearest, 2 bilinear)", p[0])
		}
		if p[1] != 0 || p[2] != 0 || p[3] != 0 {
			return l.unsupported("fixed or dynamic output size (only scale factors)")
		}
		inRange("align_corner", p[4], 0, 1)
		s := interpSpec{typ: p[0], alignCorner: p[4] == 1}
		if s.hs, err = l.Float(1, 1); err != nil {
			return err
		}
		if s.ws, err = l.Float(2, 1); err != nil {
			return err
		}
		if !(s.hs > 0 && s.hs <= 64 && s.ws > 0 && s.ws <= 64) {
			return l.errorf("scale %g x %g out of range (0, 64]", s.hs, s.ws)
		}
		l.spec = s

	case "BinaryOp":
		p := []int{iv(0, 0), iv(1, 0)}
		inRange("op_type", p[0], 0, opRDiv)
		inRange("with_scalar", p[1], 0, 1)
		if err != nil {
			return err
		}
		s := binaryOpSpec{op: p[0], withScalar: p[1] == 1}
		if s.b, err = l.Float(2, 0); err != nil {
			return err
		}
		nb := 2
		if s.withScalar {
			nb = 1
		}
		if err := counts(nb, nb, 1, 1); err != nil {
			return err
		}
		l.spec = s

	case "Eltwise":
		if err := counts(2, 1<<10, 1, 1); err != nil {
			return err
		}
		p := []int{iv(0, 0)}
		inRange("op_type", p[0], 0, 2)
		if err != nil {
			return err
		}
		s := eltwiseSpec{op: p[0]}
		if s.coeffs, err = l.Floats(1); err != nil {
			return err
		}
		if len(s.coeffs) > 0 {
			if s.op != 1 {
				return l.errorf("coefficients are only allowed with op_type 1 (sum)")
			}
			if len(s.coeffs) != len(l.Bottoms) {
				return l.errorf("%d coefficients for %d inputs", len(s.coeffs), len(l.Bottoms))
			}
		}
		l.spec = s

	case "Concat":
		if err := counts(1, 1<<10, 1, 1); err != nil {
			return err
		}
		p := []int{iv(0, 0)}
		inRange("axis", p[0], -3, 2)
		l.spec = concatSpec{axis: (p[0] + 3) % 3}
	}
	return err
}

// blobSizes returns the number of float values of each .bin blob layer l loads, in file order,
// and whether each is a tagged ("type 0") blob.
func (l *Layer) blobSizes() (sizes []int, tagged []bool) {
	switch s := l.spec.(type) {
	case convSpec:
		sizes, tagged = []int{s.weights}, []bool{true}
		if s.bias {
			sizes, tagged = append(sizes, s.out), append(tagged, false)
		}
	case preluSpec:
		sizes, tagged = []int{s.slopes}, []bool{false}
	}
	return sizes, tagged
}

func (s convSpec) String() string {
	return fmt.Sprintf("%dx%d conv %d->%d", s.kw, s.kh, s.in, s.out)
}
