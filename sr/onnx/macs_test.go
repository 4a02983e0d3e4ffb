package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCountMACs counts a graph with a Conv, a reshape through an exporter-style
// Shape/Gather/Concat chain, a MatMul and two Gemms (one transposing A), for a symbolic input size
// given at count time.
func TestCountMACs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(p, macsGraph(t), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := CountMACs(p, map[string][]int64{"x": {1, 3, 64, 48}})
	if err != nil {
		t.Fatal(err)
	}
	hw := int64(32 * 24) // stride 2, pad 1, kernel 3
	conv, mm, gemm := 8*hw*27, hw*16*8, int64(4*5*16+4*5*16)
	if r.MACs != conv+mm+gemm || r.Counted != 4 || r.Uncounted != 0 ||
		r.ByOp["Conv"] != conv || r.ByOp["MatMul"] != mm || r.ByOp["Gemm"] != gemm {
		t.Errorf("got %+v, want conv %d matmul %d gemm %d", r, conv, mm, gemm)
	}
	// The largest inferred tensor is the MatMul's output, hw x 16 (the Conv's is 8 x hw).
	if r.Largest != hw*16 {
		t.Errorf("largest tensor %d elements, want %d", r.Largest, hw*16)
	}
	// Without the input size the Conv and MatMul are uncounted.
	r, _ = CountMACs(p, nil)
	if r.Counted != 2 || r.Uncounted != 2 {
		t.Errorf("symbolic: %+v", r)
	}
}

// macsGraph returns TestCountMACs's model.
func macsGraph(t testing.TB) []byte {
	t.Helper()
	g := NewGraph("macs")
	g.Input("x", Float, 1, 3, -1, -1)
	g.Output("y", Float, -1, 16)
	g.Output("z", Float, 4, 5)
	g.Output("zt", Float, 4, 5)
	g.Initializer("w", Float, []int64{8, 3, 3, 3}, make([]float32, 8*27))
	g.Initializer("m", Float, []int64{8, 16}, make([]float32, 128))
	g.Initializer("a", Float, []int64{4, 16}, make([]float32, 64))
	g.Initializer("b", Float, []int64{5, 16}, make([]float32, 80))
	g.Initializer("at", Float, []int64{16, 4}, make([]float32, 64))
	g.Initializer("i01", Int64, []int64{2}, []int64{0, 1})
	g.Initializer("minus1", Int64, []int64{1}, []int64{-1})
	g.Initializer("flat", Int64, []int64{2}, []int64{-1, 16})
	g.Node("Conv", []string{"x", "w"}, []string{"c"}, AttrInts("kernel_shape", 3, 3), AttrInts("pads", 1, 1, 1, 1), AttrInts("strides", 2, 2))
	g.Node("Shape", []string{"c"}, []string{"cs"})
	g.Node("Gather", []string{"cs", "i01"}, []string{"nc"}, AttrInt("axis", 0))
	g.Node("Concat", []string{"nc", "minus1"}, []string{"shape3"}, AttrInt("axis", 0))
	g.Node("Reshape", []string{"c", "shape3"}, []string{"r"})
	g.Node("Transpose", []string{"r"}, []string{"tr"}, AttrInts("perm", 0, 2, 1))
	g.Node("MatMul", []string{"tr", "m"}, []string{"mm"})
	g.Node("Reshape", []string{"mm", "flat"}, []string{"y"})
	g.Node("Gemm", []string{"a", "b"}, []string{"z"}, AttrInt("transB", 1))
	g.Node("Gemm", []string{"at", "b"}, []string{"zt"}, AttrInt("transA", 1), AttrInt("transB", 1))
	b, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// malformedGraphs are models that parse but break an operator's rules (axes out of range, zero
// strides, attribute lists of the wrong length, inconsistent constants). Each ends in a Conv on
// the malformed node's output, which must be left uncounted, not panic.
func malformedGraphs(t testing.TB) map[string][]byte {
	t.Helper()
	type build func(g *Graph) string // adds the malformed node, returns its output
	ints := func(g *Graph, name string, v ...int64) string {
		g.Initializer(name, Int64, []int64{int64(len(v))}, v)
		return name
	}
	cases := map[string]build{
		"transpose perm out of range": func(g *Graph) string {
			return g.Node("Transpose", []string{"x"}, []string{"o"}, AttrInts("perm", 0, 1, 2, 7))[0]
		},
		"unsqueeze repeated axis": func(g *Graph) string {
			return g.Node("Unsqueeze", []string{"x", ints(g, "ax", 0, 0)}, []string{"o"})[0]
		},
		"squeeze axis out of range": func(g *Graph) string {
			return g.Node("Squeeze", []string{"x", ints(g, "ax", 9)}, []string{"o"})[0]
		},
		"gather axis out of range": func(g *Graph) string {
			return g.Node("Gather", []string{"x", ints(g, "i", 0)}, []string{"o"}, AttrInt("axis", 9))[0]
		},
		"concat axis out of range": func(g *Graph) string {
			return g.Node("Concat", []string{"x", "x"}, []string{"o"}, AttrInt("axis", 4))[0]
		},
		"concat ranks differ": func(g *Graph) string {
			return g.Node("Concat", []string{"x", "v"}, []string{"o"}, AttrInt("axis", 1))[0]
		},
		"flatten axis out of range": func(g *Graph) string {
			return g.Node("Flatten", []string{"x"}, []string{"o"}, AttrInt("axis", 5))[0]
		},
		"split sizes short": func(g *Graph) string {
			return g.Node("Split", []string{"x"}, []string{"o", "o2"}, AttrInt("axis", 1), AttrInts("split", 3))[0]
		},
		"split axis out of range": func(g *Graph) string {
			return g.Node("Split", []string{"x"}, []string{"o", "o2"}, AttrInt("axis", -9))[0]
		},
		"reduce axis out of range": func(g *Graph) string {
			return g.Node("ReduceSum", []string{"x"}, []string{"o"}, AttrInts("axes", 4))[0]
		},
		"slice step zero": func(g *Graph) string {
			return g.Node("Slice", []string{"x", ints(g, "s", 0), ints(g, "e", 2), ints(g, "a", 2), ints(g, "st", 0)}, []string{"o"})[0]
		},
		"slice ends short": func(g *Graph) string {
			return g.Node("Slice", []string{"x", ints(g, "s", 0, 0), ints(g, "e", 2)}, []string{"o"})[0]
		},
		"slice axis out of range": func(g *Graph) string {
			return g.Node("Slice", []string{"x", ints(g, "s", 0), ints(g, "e", 2), ints(g, "a", 4)}, []string{"o"})[0]
		},
		"slice const past its values": func(g *Graph) string {
			// r claims 9 values but holds 2 (Reshape passes the value through, taking the shape).
			r := g.Node("Reshape", []string{ints(g, "two", 1, 2), ints(g, "nine", 9)}, []string{"r"})[0]
			g.Node("Slice", []string{r, ints(g, "s", 0), ints(g, "e", 9)}, []string{"sl"})
			return g.Node("Reshape", []string{"x", "sl"}, []string{"o"})[0]
		},
		"fold overflowing shape": func(g *Graph) string {
			// r's shape overflows int64 to a negative element count.
			r := g.Node("Reshape", []string{ints(g, "two", 1, 2), ints(g, "big", 1<<62, 2)}, []string{"r"})[0]
			a := g.Node("Add", []string{r, r}, []string{"a"})[0]
			return g.Node("Reshape", []string{"x", a}, []string{"o"})[0]
		},
		"depth to space block 0": func(g *Graph) string {
			return g.Node("DepthToSpace", []string{"x"}, []string{"o"}, AttrInt("blocksize", 0))[0]
		},
		"pool stride 0": func(g *Graph) string {
			return g.Node("MaxPool", []string{"x"}, []string{"o"}, AttrInts("kernel_shape", 1, 1), AttrInts("strides", 0, 0))[0]
		},
		"pool strides short": func(g *Graph) string {
			return g.Node("MaxPool", []string{"x"}, []string{"o"}, AttrInts("kernel_shape", 1, 1), AttrInts("strides", 1))[0]
		},
		"pool pads short": func(g *Graph) string {
			return g.Node("AveragePool", []string{"x"}, []string{"o"}, AttrInts("kernel_shape", 1, 1), AttrInts("pads", 1, 1))[0]
		},
		"conv transpose output padding short": func(g *Graph) string {
			return g.Node("ConvTranspose", []string{"x", "w"}, []string{"o"}, AttrInts("output_padding", 1))[0]
		},
		"conv without weight": func(g *Graph) string {
			return g.Node("Conv", []string{"x"}, []string{"o"}, AttrInts("kernel_shape", 1, 1))[0]
		},
	}
	out := map[string][]byte{}
	for name, c := range cases {
		g := NewGraph("bad")
		g.Input("x", Float, 1, 4, 8, 8)
		g.Initializer("v", Float, []int64{4}, make([]float32, 4))
		g.Initializer("w", Float, []int64{4, 4, 1, 1}, make([]float32, 16))
		o := c(g)
		g.Output("y", Float, -1, -1, -1, -1)
		g.Node("Conv", []string{o, "w"}, []string{"y"})
		b, err := g.Marshal(17)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b
	}
	return out
}

// TestCountMACsMalformed: shape inference leaves what follows a malformed node unknown.
func TestCountMACsMalformed(t *testing.T) {
	for name, b := range malformedGraphs(t) {
		t.Run(name, func(t *testing.T) {
			m, err := ReadModel(b)
			if err != nil {
				t.Fatal(err)
			}
			r := m.CountMACs(nil)
			if r.Counted != 0 || r.Uncounted < 1 {
				t.Errorf("%+v", r)
			}
		})
	}
}
