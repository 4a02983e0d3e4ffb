package onnx

import (
	"fmt"
	"os"
	"slices"
)

// MACReport is the multiply-accumulate count of an ONNX graph's MatMul, Gemm, Conv and
// ConvTranspose nodes for given input shapes.
type MACReport struct {
	// MACs sums the nodes whose shapes could be inferred.
	MACs int64
	// Counted and Uncounted are the numbers of such nodes with and without inferred shapes; a
	// non-zero Uncounted makes MACs a lower bound.
	Counted, Uncounted int
	// ByOp splits MACs by operator.
	ByOp map[string]int64
	// Largest is the element count of the largest node output whose shape was inferred (for a
	// transformer, usually an attention score matrix): a floor for the working memory.
	Largest int64
}

// CountMACs reads the ONNX model at path (external data is not needed) and returns
// Model.CountMACs for the given input shapes. The file is read whole.
func CountMACs(path string, shapes map[string][]int64) (*MACReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: count MACs: %w", err)
	}
	m, err := ReadModel(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: count MACs: %s: %w", path, err)
	}
	return m.CountMACs(shapes), nil
}

// maxConstInts bounds the int tensors kept as constants (shapes, axes, indices).
const maxConstInts = 64

// CountMACs counts the MACs of the graph's MatMul, Gemm, Conv and ConvTranspose nodes for the
// given input shapes, inferring shapes node by node through the common operators and folding small
// int64 constants (the Shape/Gather/Concat/Reshape chains exporters write). Inputs not in shapes
// keep the sizes the graph declares. A node whose shapes cannot be inferred, malformed ones
// included, is left uncounted.
func (m *Model) CountMACs(given map[string][]int64) *MACReport {
	shapes := map[string][]int64{}
	consts := map[string][]int64{}
	for _, t := range m.Initializers {
		shapes[t.Name] = t.Dims
		if v := t.int64s(maxConstInts); v != nil {
			consts[t.Name] = v
		} else {
			delete(consts, t.Name)
		}
	}
	for _, in := range m.Inputs {
		s := in.Shape
		if gs, ok := given[in.Name]; ok {
			s = gs
		}
		if known(s) {
			shapes[in.Name] = s
		}
	}
	r := &MACReport{ByOp: map[string]int64{}}
	for _, n := range m.Nodes {
		ins := make([][]int64, len(n.Inputs))
		for i, in := range n.Inputs {
			ins[i] = shapes[in]
		}
		outs, vals := inferNode(n, ins, consts)
		for i, o := range n.Outputs {
			if i < len(outs) && known(outs[i]) {
				shapes[o] = outs[i]
				r.Largest = max(r.Largest, prod(outs[i]))
			}
			if i < len(vals) && vals[i] != nil {
				consts[o] = vals[i]
			}
		}
		switch n.Op {
		case "MatMul", "Gemm", "Conv", "ConvTranspose":
			macs := nodeMACs(n, ins, outs)
			if macs < 0 {
				r.Uncounted++
				continue
			}
			r.Counted++
			r.MACs += macs
			r.ByOp[n.Op] += macs
		}
	}
	return r
}

func known(s []int64) bool {
	if s == nil {
		return false
	}
	for _, d := range s {
		if d < 0 {
			return false
		}
	}
	return true
}

func prod(s []int64) int64 {
	p := int64(1)
	for _, d := range s {
		p *= d
	}
	return p
}

// nodeMACs returns the MACs of a matrix or convolution node, or -1 when shapes are missing.
func nodeMACs(n Node, ins, outs [][]int64) int64 {
	if len(outs) == 0 || !known(outs[0]) {
		return -1
	}
	out := outs[0]
	in := func(i int) []int64 {
		if i < len(ins) {
			return ins[i]
		}
		return nil
	}
	switch n.Op {
	case "MatMul":
		a := in(0)
		if !known(a) || len(a) == 0 {
			return -1
		}
		return prod(out) * a[len(a)-1]
	case "Gemm":
		a := in(0)
		if !known(a) || len(a) != 2 {
			return -1
		}
		k := a[1]
		if n.attr("transA").Int != 0 {
			k = a[0]
		}
		return prod(out) * k
	case "Conv":
		w := in(1)
		if !known(w) || len(w) < 3 {
			return -1
		}
		return prod(out) * prod(w[1:]) // per output: C/group * kernel
	case "ConvTranspose":
		w, x := in(1), in(0)
		if !known(w) || !known(x) || len(w) < 3 {
			return -1
		}
		return prod(x) * prod(w[1:]) // per input: C_out/group * kernel
	}
	return -1
}

func attrInt(n Node, name string, def int64) int64 {
	if a, ok := n.Attr(name); ok {
		return a.Int
	}
	return def
}

// axis normalises a possibly negative axis of a rank-r shape; ok is false outside [0, r).
func axis(a int64, r int) (ax int, ok bool) {
	if a < 0 {
		a += int64(r)
	}
	return int(a), a >= 0 && a < int64(r)
}

// axisSet returns the normalised axes as a set, or false when one is out of range or repeated.
func axisSet(axes []int64, r int) (map[int]bool, bool) {
	set := map[int]bool{}
	for _, a := range axes {
		ax, ok := axis(a, r)
		if !ok || set[ax] {
			return nil, false
		}
		set[ax] = true
	}
	return set, true
}

// inferNode returns the output shapes of n (nil where unknown) and the values of small int64
// outputs it can fold.
func inferNode(n Node, ins [][]int64, consts map[string][]int64) (outs [][]int64, vals [][]int64) {
	in := func(i int) []int64 {
		if i < len(ins) {
			return ins[i]
		}
		return nil
	}
	cv := func(i int) ([]int64, bool) {
		if i >= len(n.Inputs) || n.Inputs[i] == "" {
			return nil, false
		}
		v, ok := consts[n.Inputs[i]]
		return v, ok
	}
	one := func(s []int64) [][]int64 { return [][]int64{s} }
	switch n.Op {
	case "Constant":
		if t := n.attr("value").Tensor; t != nil {
			return one(t.Dims), [][]int64{t.int64s(maxConstInts)}
		}
		if a, ok := n.Attr("value_ints"); ok {
			return one([]int64{int64(len(a.Ints))}), [][]int64{a.Ints}
		}
		if a, ok := n.Attr("value_int"); ok {
			return one([]int64{}), [][]int64{{a.Int}}
		}
		return nil, nil
	case "Shape":
		s := in(0)
		if !known(s) {
			return one([]int64{int64(len(s))}), nil
		}
		start, end := attrInt(n, "start", 0), attrInt(n, "end", int64(len(s)))
		st, en := clampAxis(start, len(s)), clampAxis(end, len(s))
		v := slices.Clone(s[st:max(st, en)])
		return one([]int64{int64(len(v))}), [][]int64{v}
	case "Identity", "Cast", "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs",
		"Softmax", "LayerNormalization", "GroupNormalization", "InstanceNormalization", "Gelu",
		"Dropout", "Clip", "LeakyRelu", "HardSigmoid", "Softplus", "Reciprocal", "Not", "Floor", "Ceil",
		"Round", "Sin", "Cos", "BatchNormalization", "Mish", "SimplifiedLayerNormalization", "IsNaN":
		var v [][]int64
		if c, ok := cv(0); ok && (n.Op == "Identity" || n.Op == "Cast" || n.Op == "Neg") {
			if n.Op == "Neg" {
				c = slices.Clone(c)
				for i := range c {
					c[i] = -c[i]
				}
			}
			v = [][]int64{c}
		}
		return one(in(0)), v
	case "Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min", "Equal", "Less", "Greater",
		"And", "Or", "Mod", "LessOrEqual", "GreaterOrEqual", "Sum", "Mean":
		var s []int64
		for i := range n.Inputs {
			if !known(in(i)) {
				return nil, nil
			}
			if s = broadcast(s, in(i)); s == nil {
				return nil, nil
			}
		}
		var v [][]int64
		if p := prod(s); len(n.Inputs) == 2 && p >= 0 && p <= maxConstInts {
			a, ok1 := cv(0)
			bb, ok2 := cv(1)
			if ok1 && ok2 {
				v = [][]int64{foldArith(n.Op, a, bb, int(prod(s)))}
			}
		}
		return one(s), v
	case "MatMul":
		a, b := in(0), in(1)
		if !known(a) || !known(b) || len(a) < 1 || len(b) < 1 {
			return nil, nil
		}
		if len(b) == 1 {
			return one(slices.Clone(a[:len(a)-1])), nil
		}
		if len(a) == 1 {
			return one(append(slices.Clone(b[:len(b)-2]), b[len(b)-1])), nil
		}
		batch := broadcast(a[:len(a)-2], b[:len(b)-2])
		if batch == nil && (len(a) > 2 || len(b) > 2) {
			return nil, nil
		}
		return one(append(batch, a[len(a)-2], b[len(b)-1])), nil
	case "Gemm":
		a, b := in(0), in(1)
		if !known(a) || !known(b) || len(a) != 2 || len(b) != 2 {
			return nil, nil
		}
		m, nn := a[0], b[1]
		if attrInt(n, "transA", 0) != 0 {
			m = a[1]
		}
		if attrInt(n, "transB", 0) != 0 {
			nn = b[0]
		}
		return one([]int64{m, nn}), nil
	case "Conv", "ConvTranspose", "MaxPool", "AveragePool":
		return one(convShape(n, in(0), in(1))), nil
	case "GlobalAveragePool", "GlobalMaxPool":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		o := slices.Clone(s)
		for i := 2; i < len(o); i++ {
			o[i] = 1
		}
		return one(o), nil
	case "Transpose":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		perm := n.attr("perm").Ints
		if perm == nil {
			for i := len(s) - 1; i >= 0; i-- {
				perm = append(perm, int64(i))
			}
		}
		o := make([]int64, len(perm))
		for i, p := range perm {
			if p < 0 || p >= int64(len(s)) {
				return nil, nil
			}
			o[i] = s[p]
		}
		return one(o), nil
	case "Reshape":
		s := in(0)
		target, ok := cv(1)
		if !known(s) || !ok {
			return nil, nil
		}
		o := slices.Clone(target)
		rest, neg := prod(s), -1
		for i, d := range o {
			switch {
			case d == 0 && attrInt(n, "allowzero", 0) == 0 && i < len(s):
				o[i] = s[i]
			case d == -1:
				neg = i
				continue
			}
			if o[i] != 0 {
				rest /= o[i]
			}
		}
		if neg >= 0 {
			o[neg] = rest
		}
		var v [][]int64
		if c, ok := cv(0); ok {
			v = [][]int64{c}
		}
		return one(o), v
	case "Flatten":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		ax, ok := axis(attrInt(n, "axis", 1), len(s)+1)
		if a := attrInt(n, "axis", 1); a < 0 {
			ax, ok = axis(a, len(s))
		}
		if !ok {
			return nil, nil
		}
		return one([]int64{prod(s[:ax]), prod(s[ax:])}), nil
	case "Unsqueeze", "Squeeze":
		s := in(0)
		axes := n.attr("axes").Ints
		if c, ok := cv(1); ok {
			axes = c
		}
		if s == nil {
			return nil, nil
		}
		var o []int64
		if n.Op == "Unsqueeze" {
			r := len(s) + len(axes)
			set, ok := axisSet(axes, r)
			if !ok {
				return nil, nil
			}
			j := 0
			for i := range r {
				if set[i] {
					o = append(o, 1)
				} else {
					o = append(o, s[j])
					j++
				}
			}
		} else {
			set, ok := axisSet(axes, len(s))
			if !ok {
				return nil, nil
			}
			for i, d := range s {
				if (len(axes) == 0 && d == 1) || set[i] {
					continue
				}
				o = append(o, d)
			}
		}
		var v [][]int64
		if c, ok := cv(0); ok {
			v = [][]int64{c}
		}
		return one(o), v
	case "Concat":
		var o []int64
		var v []int64
		allConst := true
		for i := range n.Inputs {
			s := in(i)
			if !known(s) {
				return nil, nil
			}
			if c, ok := cv(i); ok && allConst {
				v = append(v, c...)
			} else {
				allConst = false
			}
			if o == nil {
				o = slices.Clone(s)
				continue
			}
			ax, ok := axis(attrInt(n, "axis", 0), len(s))
			if !ok || len(s) != len(o) {
				return nil, nil
			}
			o[ax] += s[ax]
		}
		if allConst {
			return one(o), [][]int64{v}
		}
		return one(o), nil
	case "Gather":
		data, idx := in(0), in(1)
		if !known(data) || idx == nil {
			return nil, nil
		}
		ax, ok := axis(attrInt(n, "axis", 0), len(data))
		if !ok {
			return nil, nil
		}
		o := append(append(slices.Clone(data[:ax]), idx...), data[ax+1:]...)
		var v [][]int64
		if d, ok := cv(0); ok && len(data) == 1 {
			if ix, ok := cv(1); ok {
				var g []int64
				for _, i := range ix {
					if i < 0 {
						i += int64(len(d))
					}
					if i >= 0 && int(i) < len(d) {
						g = append(g, d[i])
					}
				}
				v = [][]int64{g}
			}
		}
		return one(o), v
	case "Slice":
		s := in(0)
		starts, ok1 := cv(1)
		ends, ok2 := cv(2)
		if !known(s) || !ok1 || !ok2 {
			return nil, nil
		}
		axes, ok := cv(3)
		if !ok {
			for i := range starts {
				axes = append(axes, int64(i))
			}
		}
		steps, ok := cv(4)
		if len(starts) != len(axes) || len(ends) != len(axes) || ok && len(steps) != len(axes) {
			return nil, nil
		}
		o := slices.Clone(s)
		for i, a := range axes {
			ax, okAx := axis(a, len(s))
			st := int64(1)
			if ok {
				st = steps[i]
			}
			if !okAx || st == 0 {
				return nil, nil
			}
			lo, hi := clampIdx(starts[i], s[ax]), clampIdx(ends[i], s[ax])
			if st > 0 {
				o[ax] = max(0, (hi-lo+st-1)/st)
			} else {
				lo, hi = min(clampIdx(starts[i], s[ax]), s[ax]-1), clampIdx(ends[i], s[ax])
				if ends[i] < -s[ax] {
					hi = -1
				}
				o[ax] = max(0, (lo-hi+(-st)-1)/(-st))
			}
		}
		var v [][]int64
		if c, okc := cv(0); okc && len(s) == 1 && len(axes) == 1 && (!ok || steps[0] == 1) {
			lo, hi := clampIdx(starts[0], s[0]), clampIdx(ends[0], s[0])
			if lo <= hi && hi <= int64(len(c)) {
				v = [][]int64{slices.Clone(c[lo:hi])}
			}
		}
		return one(o), v
	case "Split":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		ax, ok := axis(attrInt(n, "axis", 0), len(s))
		if !ok {
			return nil, nil
		}
		sizes := n.attr("split").Ints
		if c, ok := cv(1); ok {
			sizes = c
		}
		k := len(n.Outputs)
		if sizes != nil && len(sizes) != k {
			return nil, nil
		}
		for i := range k {
			o := slices.Clone(s)
			if sizes != nil {
				o[ax] = sizes[i]
			} else {
				o[ax] = s[ax] / int64(k)
			}
			outs = append(outs, o)
		}
		return outs, nil
	case "Expand":
		s := in(0)
		target, ok := cv(1)
		if !known(s) || !ok {
			return nil, nil
		}
		return one(broadcast(s, target)), nil
	case "ConstantOfShape":
		target, ok := cv(0)
		if !ok {
			return nil, nil
		}
		return one(target), nil
	case "Range":
		return nil, nil
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		axes := n.attr("axes").Ints
		if c, ok := cv(1); ok {
			axes = c
		}
		keep := attrInt(n, "keepdims", 1) != 0
		set, ok := axisSet(axes, len(s))
		if !ok {
			return nil, nil
		}
		var o []int64
		for i, d := range s {
			if len(axes) == 0 || set[i] {
				if keep {
					o = append(o, 1)
				}
				continue
			}
			o = append(o, d)
		}
		if o == nil {
			o = []int64{}
		}
		return one(o), nil
	case "Resize", "Upsample":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		if sizes, ok := cv(3); ok && len(sizes) == len(s) {
			return one(sizes), nil
		}
		if sc := n.attr("scales").Ints; sc != nil {
			return nil, nil
		}
		return nil, nil
	case "DepthToSpace", "SpaceToDepth":
		s := in(0)
		if !known(s) || len(s) != 4 {
			return nil, nil
		}
		bs := attrInt(n, "blocksize", 1)
		if bs <= 0 {
			return nil, nil
		}
		if n.Op == "DepthToSpace" {
			return one([]int64{s[0], s[1] / (bs * bs), s[2] * bs, s[3] * bs}), nil
		}
		return one([]int64{s[0], s[1] * bs * bs, s[2] / bs, s[3] / bs}), nil
	}
	return nil, nil
}

func clampAxis(a int64, r int) int {
	if a < 0 {
		a += int64(r)
	}
	return int(min(max(a, 0), int64(r)))
}

func clampIdx(i, n int64) int64 {
	if i < 0 {
		i += n
	}
	return min(max(i, 0), n)
}

// broadcast returns the numpy broadcast of shapes a and b (nil if they do not broadcast). A nil a
// is the identity.
func broadcast(a, b []int64) []int64 {
	if a == nil {
		return slices.Clone(b)
	}
	r := max(len(a), len(b))
	o := make([]int64, r)
	for i := range r {
		da, db := int64(1), int64(1)
		if j := len(a) - r + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - r + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			o[i] = da
		case da == 1:
			o[i] = db
		default:
			return nil
		}
	}
	return o
}

func foldArith(op string, a, b []int64, n int) []int64 {
	at := func(v []int64, i int) int64 {
		if len(v) == 1 {
			return v[0]
		}
		if i < len(v) {
			return v[i]
		}
		return 0
	}
	o := make([]int64, n)
	for i := range o {
		x, y := at(a, i), at(b, i)
		switch op {
		case "Add":
			o[i] = x + y
		case "Sub":
			o[i] = x - y
		case "Mul":
			o[i] = x * y
		case "Div":
			if y == 0 {
				return nil
			}
			o[i] = x / y
		default:
			return nil
		}
	}
	return o
}

// convShape infers the output of Conv, ConvTranspose and the pools from the input x, the weight w
// (Conv) and the attributes.
func convShape(n Node, x, w []int64) []int64 {
	if !known(x) || len(x) < 3 {
		return nil
	}
	sp := len(x) - 2
	kernel := n.attr("kernel_shape").Ints
	if kernel == nil && known(w) && len(w) == len(x) {
		kernel = w[2:]
	}
	if len(kernel) != sp {
		return nil
	}
	bad := false
	get := func(name string, def int64, k int) []int64 {
		v := n.attr(name).Ints
		if len(v) == 0 {
			v = make([]int64, k)
			for i := range v {
				v[i] = def
			}
		}
		bad = bad || len(v) != k
		return v
	}
	strides, dil, pads := get("strides", 1, sp), get("dilations", 1, sp), get("pads", 0, 2*sp)
	var outPad []int64
	if n.Op == "ConvTranspose" {
		outPad = get("output_padding", 0, sp)
	}
	if bad || slices.Min(strides) <= 0 {
		return nil
	}
	o := slices.Clone(x)
	switch n.Op {
	case "Conv":
		if !known(w) || len(w) != len(x) {
			return nil
		}
		o[1] = w[0]
	case "ConvTranspose":
		if !known(w) || len(w) != len(x) {
			return nil
		}
		o[1] = w[1] * attrInt(n, "group", 1)
	}
	autoPad := n.attr("auto_pad").String
	for i := range sp {
		in, k := x[2+i], dil[i]*(kernel[i]-1)+1
		if n.Op == "ConvTranspose" {
			o[2+i] = strides[i]*(in-1) + outPad[i] + k - pads[i] - pads[sp+i]
			if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
				o[2+i] = in * strides[i]
			}
			continue
		}
		switch autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			o[2+i] = (in + strides[i] - 1) / strides[i]
		case "VALID":
			o[2+i] = (in-k)/strides[i] + 1
		default:
			o[2+i] = (in+pads[i]+pads[sp+i]-k)/strides[i] + 1
		}
	}
	return o
}

// attr returns the attribute called name, or the zero Attribute.
func (n *Node) attr(name string) Attribute {
	a, _ := n.Attr(name)
	return a
}
