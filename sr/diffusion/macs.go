package diffusion

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
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
}

// CountMACs reads the ONNX model at path (external data is not needed) and counts the MACs of its
// MatMul, Gemm, Conv and ConvTranspose nodes for the given input shapes, propagating shapes
// through the common operators and folding small int64 constants (the Shape/Gather/Concat/Reshape
// chains exporters write). Inputs not in shapes keep the sizes the graph declares.
func CountMACs(path string, shapes map[string][]int64) (*MACReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("diffusion: count MACs: %w", err)
	}
	g, err := parseModel(b)
	if err != nil {
		return nil, fmt.Errorf("diffusion: count MACs: %s: %w", path, err)
	}
	return g.count(shapes), nil
}

// Minimal ONNX protobuf reading: only what shape inference needs.

type pNode struct {
	op      string
	inputs  []string
	outputs []string
	attrs   map[string]pAttr
}

type pAttr struct {
	i    int64
	f    float32
	ints []int64
	t    *pTensor
	s    string
}

type pTensor struct {
	name  string
	dims  []int64
	dtype int64
	ints  []int64 // int64/int32 data when small and present
}

type pGraph struct {
	nodes  []pNode
	inits  map[string]*pTensor
	inputs map[string][]int64 // declared shapes, -1 for symbolic
	order  []string
}

func parseModel(b []byte) (*pGraph, error) {
	var g *pGraph
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 7 && typ == protowire.BytesType {
			var err error
			g, err = parseGraph(v)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("no graph")
	}
	return g, nil
}

// walk calls fn for every field of message b (v holds bytes fields, x varints and fixed values).
func walk(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			x = uint64(u)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// ints reads a repeated int64 field, packed or not.
func appendInts(dst []int64, typ protowire.Type, v []byte, x uint64) []int64 {
	if typ != protowire.BytesType {
		return append(dst, int64(x))
	}
	for len(v) > 0 {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			break
		}
		dst = append(dst, int64(u))
		v = v[n:]
	}
	return dst
}

func parseGraph(b []byte) (*pGraph, error) {
	g := &pGraph{inits: map[string]*pTensor{}, inputs: map[string][]int64{}}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			n, err := parseNode(v)
			if err != nil {
				return err
			}
			g.nodes = append(g.nodes, n)
		case 5:
			t, err := parseTensor(v)
			if err != nil {
				return err
			}
			g.inits[t.name] = t
		case 11:
			name, shape, err := parseValueInfo(v)
			if err != nil {
				return err
			}
			g.inputs[name] = shape
			g.order = append(g.order, name)
		}
		return nil
	})
	return g, err
}

func parseNode(b []byte) (pNode, error) {
	n := pNode{attrs: map[string]pAttr{}}
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			n.inputs = append(n.inputs, string(v))
		case 2:
			n.outputs = append(n.outputs, string(v))
		case 4:
			n.op = string(v)
		case 5:
			var name string
			var a pAttr
			err := walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch num {
				case 1:
					name = string(v)
				case 2:
					a.f = math.Float32frombits(uint32(x))
				case 3:
					a.i = int64(x)
				case 4:
					a.s = string(v)
				case 5:
					t, err := parseTensor(v)
					if err != nil {
						return err
					}
					a.t = t
				case 8:
					a.ints = appendInts(a.ints, typ, v, x)
				}
				return nil
			})
			if err != nil {
				return err
			}
			n.attrs[name] = a
		}
		return nil
	})
	return n, err
}

// maxConstInts bounds the int tensors kept as constants (shapes, axes, indices).
const maxConstInts = 64

func parseTensor(b []byte) (*pTensor, error) {
	t := &pTensor{dims: []int64{}} // a scalar has no dims, and a known shape
	var raw []byte
	var i64 []int64
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			t.dims = appendInts(t.dims, typ, v, x)
		case 2:
			t.dtype = int64(x)
		case 5, 7: // int32_data, int64_data
			i64 = appendInts(i64, typ, v, x)
		case 8:
			t.name = string(v)
		case 9:
			raw = v
		}
		return nil
	})
	n := int64(1)
	for _, d := range t.dims {
		n *= d
	}
	if n <= maxConstInts {
		switch {
		case t.dtype == 7 && len(raw) == int(8*n):
			for i := range n {
				t.ints = append(t.ints, int64(binary.LittleEndian.Uint64(raw[8*i:])))
			}
		case t.dtype == 6 && len(raw) == int(4*n):
			for i := range n {
				t.ints = append(t.ints, int64(int32(binary.LittleEndian.Uint32(raw[4*i:]))))
			}
		case (t.dtype == 7 || t.dtype == 6) && len(i64) == int(n):
			t.ints = i64
		}
	}
	return t, err
}

func parseValueInfo(b []byte) (string, []int64, error) {
	var name string
	var shape []int64
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch num {
		case 1:
			name = string(v)
		case 2: // TypeProto
			return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				if num != 1 { // tensor_type
					return nil
				}
				return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
					if num != 2 { // shape
						return nil
					}
					shape = []int64{}
					return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
						if num != 1 {
							return nil
						}
						d := int64(-1)
						err := walk(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
							if num == 1 {
								d = int64(x)
							}
							return nil
						})
						shape = append(shape, d)
						return err
					})
				})
			})
		}
		return nil
	})
	return name, shape, err
}

// count infers shapes node by node and sums the MACs of the matrix and convolution nodes.
func (g *pGraph) count(given map[string][]int64) *MACReport {
	shapes := map[string][]int64{}
	consts := map[string][]int64{}
	for name, t := range g.inits {
		shapes[name] = t.dims
		if t.ints != nil {
			consts[name] = t.ints
		}
	}
	for name, s := range g.inputs {
		if gs, ok := given[name]; ok {
			s = gs
		}
		if known(s) {
			shapes[name] = s
		}
	}
	r := &MACReport{ByOp: map[string]int64{}}
	for _, n := range g.nodes {
		ins := make([][]int64, len(n.inputs))
		for i, in := range n.inputs {
			ins[i] = shapes[in]
		}
		outs, vals := inferNode(n, ins, consts)
		for i, o := range n.outputs {
			if i < len(outs) && known(outs[i]) {
				shapes[o] = outs[i]
			}
			if i < len(vals) && vals[i] != nil {
				consts[o] = vals[i]
			}
		}
		switch n.op {
		case "MatMul", "Gemm", "Conv", "ConvTranspose":
			m := nodeMACs(n, ins, outs)
			if m < 0 {
				r.Uncounted++
				continue
			}
			r.Counted++
			r.MACs += m
			r.ByOp[n.op] += m
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
func nodeMACs(n pNode, ins, outs [][]int64) int64 {
	if len(outs) == 0 || !known(outs[0]) {
		return -1
	}
	out := outs[0]
	switch n.op {
	case "MatMul":
		a := ins[0]
		if !known(a) || len(a) == 0 {
			return -1
		}
		return prod(out) * a[len(a)-1]
	case "Gemm":
		a := ins[0]
		if !known(a) || len(a) != 2 {
			return -1
		}
		k := a[1]
		if n.attrs["transA"].i != 0 {
			k = a[0]
		}
		return prod(out) * k
	case "Conv":
		w := ins[1]
		if !known(w) || len(w) < 3 {
			return -1
		}
		return prod(out) * prod(w[1:]) // per output: C/group * kernel
	case "ConvTranspose":
		w, x := ins[1], ins[0]
		if !known(w) || !known(x) || len(w) < 3 {
			return -1
		}
		return prod(x) * prod(w[1:]) // per input: C_out/group * kernel
	}
	return -1
}

func attrInt(n pNode, name string, def int64) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.i
	}
	return def
}

func normAxis(a int64, rank int) int {
	if a < 0 {
		a += int64(rank)
	}
	return int(a)
}

// inferNode returns the output shapes of n (nil where unknown) and the values of small int64
// outputs it can fold.
func inferNode(n pNode, ins [][]int64, consts map[string][]int64) (outs [][]int64, vals [][]int64) {
	in := func(i int) []int64 {
		if i < len(ins) {
			return ins[i]
		}
		return nil
	}
	cv := func(i int) ([]int64, bool) {
		if i >= len(n.inputs) || n.inputs[i] == "" {
			return nil, false
		}
		v, ok := consts[n.inputs[i]]
		return v, ok
	}
	one := func(s []int64) [][]int64 { return [][]int64{s} }
	switch n.op {
	case "Constant":
		if t := n.attrs["value"].t; t != nil {
			return one(t.dims), [][]int64{t.ints}
		}
		if a, ok := n.attrs["value_ints"]; ok {
			return one([]int64{int64(len(a.ints))}), [][]int64{a.ints}
		}
		if a, ok := n.attrs["value_int"]; ok {
			return one([]int64{}), [][]int64{{a.i}}
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
		if c, ok := cv(0); ok && (n.op == "Identity" || n.op == "Cast" || n.op == "Neg") {
			if n.op == "Neg" {
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
		for i := range n.inputs {
			if !known(in(i)) {
				return nil, nil
			}
			if s = broadcast(s, in(i)); s == nil {
				return nil, nil
			}
		}
		var v [][]int64
		if len(n.inputs) == 2 && prod(s) <= maxConstInts {
			a, ok1 := cv(0)
			bb, ok2 := cv(1)
			if ok1 && ok2 {
				v = [][]int64{foldArith(n.op, a, bb, int(prod(s)))}
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
		perm := n.attrs["perm"].ints
		if perm == nil {
			for i := len(s) - 1; i >= 0; i-- {
				perm = append(perm, int64(i))
			}
		}
		o := make([]int64, len(perm))
		for i, p := range perm {
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
		ax := normAxis(attrInt(n, "axis", 1), len(s))
		return one([]int64{prod(s[:ax]), prod(s[ax:])}), nil
	case "Unsqueeze", "Squeeze":
		s := in(0)
		axes := n.attrs["axes"].ints
		if c, ok := cv(1); ok {
			axes = c
		}
		if s == nil {
			return nil, nil
		}
		var o []int64
		if n.op == "Unsqueeze" {
			r := len(s) + len(axes)
			set := map[int]bool{}
			for _, a := range axes {
				set[normAxis(a, r)] = true
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
			set := map[int]bool{}
			for _, a := range axes {
				set[normAxis(a, len(s))] = true
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
		for i := range n.inputs {
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
			ax := normAxis(attrInt(n, "axis", 0), len(s))
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
		ax := normAxis(attrInt(n, "axis", 0), len(data))
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
		o := slices.Clone(s)
		for i, a := range axes {
			ax := normAxis(a, len(s))
			st := int64(1)
			if ok {
				st = steps[i]
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
		if c, okc := cv(0); okc && len(s) == 1 && (!ok || steps[0] == 1) {
			lo, hi := clampIdx(starts[0], s[0]), clampIdx(ends[0], s[0])
			if lo <= hi {
				v = [][]int64{slices.Clone(c[lo:hi])}
			}
		}
		return one(o), v
	case "Split":
		s := in(0)
		if !known(s) {
			return nil, nil
		}
		ax := normAxis(attrInt(n, "axis", 0), len(s))
		sizes := n.attrs["split"].ints
		if c, ok := cv(1); ok {
			sizes = c
		}
		k := len(n.outputs)
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
		axes := n.attrs["axes"].ints
		if c, ok := cv(1); ok {
			axes = c
		}
		keep := attrInt(n, "keepdims", 1) != 0
		set := map[int]bool{}
		for _, a := range axes {
			set[normAxis(a, len(s))] = true
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
		if sc := n.attrs["scales"].ints; sc != nil {
			return nil, nil
		}
		return nil, nil
	case "DepthToSpace", "SpaceToDepth":
		s := in(0)
		if !known(s) || len(s) != 4 {
			return nil, nil
		}
		bs := attrInt(n, "blocksize", 1)
		if n.op == "DepthToSpace" {
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
func convShape(n pNode, x, w []int64) []int64 {
	if !known(x) || len(x) < 3 {
		return nil
	}
	sp := len(x) - 2
	kernel := n.attrs["kernel_shape"].ints
	if kernel == nil && known(w) && len(w) == len(x) {
		kernel = w[2:]
	}
	if len(kernel) != sp {
		return nil
	}
	get := func(name string, def int64, k int) []int64 {
		v := n.attrs[name].ints
		if len(v) == 0 {
			v = make([]int64, k)
			for i := range v {
				v[i] = def
			}
		}
		return v
	}
	strides, dil, pads := get("strides", 1, sp), get("dilations", 1, sp), get("pads", 0, 2*sp)
	o := slices.Clone(x)
	switch n.op {
	case "Conv":
		if !known(w) {
			return nil
		}
		o[1] = w[0]
	case "ConvTranspose":
		if !known(w) {
			return nil
		}
		o[1] = w[1] * attrInt(n, "group", 1)
	}
	autoPad := n.attrs["auto_pad"].s
	for i := range sp {
		in, k := x[2+i], dil[i]*(kernel[i]-1)+1
		if n.op == "ConvTranspose" {
			outPad := get("output_padding", 0, sp)
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
