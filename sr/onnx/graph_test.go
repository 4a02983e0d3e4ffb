package onnx

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded protobuf field: v for varint/fixed, b for length-delimited.
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// msg is a decoded message, fields in wire order.
type msg []field

func decode(t *testing.T, b []byte) msg {
	t.Helper()
	var m msg
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		m = append(m, f)
	}
	return m
}

// all returns the fields numbered num.
func (m msg) all(num protowire.Number) []field {
	var fs []field
	for _, f := range m {
		if f.num == num {
			fs = append(fs, f)
		}
	}
	return fs
}

// one returns the only field numbered num.
func (m msg) one(t *testing.T, num protowire.Number) field {
	t.Helper()
	fs := m.all(num)
	if len(fs) != 1 {
		t.Fatalf("field %d: %d occurrences, want 1", num, len(fs))
	}
	return fs[0]
}

func (m msg) str(t *testing.T, num protowire.Number) string {
	t.Helper()
	f := m.one(t, num)
	if f.typ != protowire.BytesType {
		t.Fatalf("field %d: wire type %d, want bytes", num, f.typ)
	}
	return string(f.b)
}

func (m msg) varint(t *testing.T, num protowire.Number) uint64 {
	t.Helper()
	f := m.one(t, num)
	if f.typ != protowire.VarintType {
		t.Fatalf("field %d: wire type %d, want varint", num, f.typ)
	}
	return f.v
}

func (m msg) sub(t *testing.T, num protowire.Number) msg {
	t.Helper()
	return decode(t, m.one(t, num).b)
}

func (m msg) strs(num protowire.Number) []string {
	var s []string
	for _, f := range m.all(num) {
		s = append(s, string(f.b))
	}
	return s
}

func packedVarints(t *testing.T, b []byte) []int64 {
	var v []int64
	for len(b) > 0 {
		x, n := protowire.ConsumeVarint(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		v = append(v, int64(x))
		b = b[n:]
	}
	return v
}

func TestMarshal(t *testing.T) {
	g := NewGraph("tiny")
	g.Input("input", Float, 1, 3, -1, -1)
	g.Output("output", Float, 1, 3, -1, -1)
	w := []float32{1, -2, 0.5}
	if err := g.Initializer("w", Float, []int64{1, 3, 1, 1}, w); err != nil {
		t.Fatal(err)
	}
	if err := g.Initializer("shape", Int64, []int64{2}, []int64{-1, 7}); err != nil {
		t.Fatal(err)
	}
	mid := g.Node("Mul", []string{"input", "w"}, []string{"mid"})
	g.Node("Conv", []string{mid[0], "w", ""}, []string{"output"},
		AttrInts("pads", 1, 1, 1, 1), AttrInt("group", -3), AttrFloat("alpha", 0.25),
		AttrFloats("scales", 1, 2), AttrString("mode", "nearest"),
		AttrTensor("value", Float16, []int64{2}, []uint16{0x3c00, 0xc000}))
	b, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	if w[1] != -2 {
		t.Fatal("input data modified")
	}

	model := decode(t, b)
	if v := model.varint(t, 1); v != 8 {
		t.Errorf("ir_version = %d", v)
	}
	if s := model.str(t, 2); s != "ugcsr" {
		t.Errorf("producer_name = %q", s)
	}
	opset := model.sub(t, 8)
	if len(opset.all(1)) != 0 {
		t.Errorf("opset domain present, want default (absent)")
	}
	if v := opset.varint(t, 2); v != 17 {
		t.Errorf("opset version = %d", v)
	}
	graph := model.sub(t, 7)
	if s := graph.str(t, 2); s != "tiny" {
		t.Errorf("graph name = %q", s)
	}

	// Inputs and outputs: ValueInfoProto{name, type{tensor_type{elem_type, shape{dim...}}}}.
	for _, c := range []struct {
		num  protowire.Number
		name string
	}{{11, "input"}, {12, "output"}} {
		vi := graph.sub(t, c.num)
		if s := vi.str(t, 1); s != c.name {
			t.Errorf("value info name = %q, want %q", s, c.name)
		}
		tt := vi.sub(t, 2).sub(t, 1)
		if v := tt.varint(t, 1); v != 1 {
			t.Errorf("%s elem_type = %d", c.name, v)
		}
		dims := tt.sub(t, 2).all(1)
		if len(dims) != 4 {
			t.Fatalf("%s: %d dims", c.name, len(dims))
		}
		want := []any{uint64(1), uint64(3), c.name + "_d2", c.name + "_d3"}
		for i, d := range dims {
			dm := decode(t, d.b)
			var got any
			if s, ok := want[i].(string); ok {
				got = dm.str(t, 2)
				_ = s
			} else {
				got = dm.varint(t, 1)
			}
			if got != want[i] {
				t.Errorf("%s dim %d = %v, want %v", c.name, i, got, want[i])
			}
		}
	}

	// Initializers: TensorProto{dims, data_type, name, raw_data}.
	inits := graph.all(5)
	if len(inits) != 2 {
		t.Fatalf("%d initializers", len(inits))
	}
	w0 := decode(t, inits[0].b)
	if s := w0.str(t, 8); s != "w" {
		t.Errorf("initializer name = %q", s)
	}
	if v := w0.varint(t, 2); v != 1 {
		t.Errorf("data_type = %d", v)
	}
	var dims []uint64
	for _, f := range w0.all(1) {
		dims = append(dims, f.v)
	}
	if !reflect.DeepEqual(dims, []uint64{1, 3, 1, 1}) {
		t.Errorf("dims = %v", dims)
	}
	raw := w0.one(t, 9).b
	if len(raw) != 12 {
		t.Fatalf("raw_data %d bytes", len(raw))
	}
	for i, x := range w {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != x {
			t.Errorf("raw[%d] = %v, want %v", i, got, x)
		}
	}
	s0 := decode(t, inits[1].b)
	raw = s0.one(t, 9).b
	if int64(binary.LittleEndian.Uint64(raw)) != -1 || binary.LittleEndian.Uint64(raw[8:]) != 7 {
		t.Errorf("int64 raw_data = %x", raw)
	}

	// Nodes.
	nodes := graph.all(1)
	if len(nodes) != 2 {
		t.Fatalf("%d nodes", len(nodes))
	}
	n0 := decode(t, nodes[0].b)
	if s := n0.str(t, 4); s != "Mul" {
		t.Errorf("op_type = %q", s)
	}
	if s := n0.str(t, 3); s != "Mul_0" {
		t.Errorf("node name = %q", s)
	}
	if got := n0.strs(1); !reflect.DeepEqual(got, []string{"input", "w"}) {
		t.Errorf("inputs = %q", got)
	}
	if got := n0.strs(2); !reflect.DeepEqual(got, []string{"mid"}) {
		t.Errorf("outputs = %q", got)
	}
	n1 := decode(t, nodes[1].b)
	if got := n1.strs(1); !reflect.DeepEqual(got, []string{"mid", "w", ""}) {
		t.Errorf("inputs = %q", got)
	}
	attrs := n1.all(5)
	if len(attrs) != 6 {
		t.Fatalf("%d attributes", len(attrs))
	}
	check := func(i int, name string, typ uint64) msg {
		a := decode(t, attrs[i].b)
		if s := a.str(t, 1); s != name {
			t.Errorf("attr %d name = %q, want %q", i, s, name)
		}
		if v := a.varint(t, 20); v != typ {
			t.Errorf("attr %s type = %d, want %d", name, v, typ)
		}
		return a
	}
	if got := packedVarints(t, check(0, "pads", 7).one(t, 8).b); !reflect.DeepEqual(got, []int64{1, 1, 1, 1}) {
		t.Errorf("pads = %v", got)
	}
	if v := int64(check(1, "group", 2).varint(t, 3)); v != -3 {
		t.Errorf("group = %d", v)
	}
	if f := check(2, "alpha", 1).one(t, 2); f.typ != protowire.Fixed32Type || math.Float32frombits(uint32(f.v)) != 0.25 {
		t.Errorf("alpha = %+v", f)
	}
	fl := check(3, "scales", 6).one(t, 7).b
	if len(fl) != 8 || math.Float32frombits(binary.LittleEndian.Uint32(fl[4:])) != 2 {
		t.Errorf("scales = %x", fl)
	}
	if s := check(4, "mode", 3).str(t, 4); s != "nearest" {
		t.Errorf("mode = %q", s)
	}
	tv := check(5, "value", 4).sub(t, 5)
	if v := tv.varint(t, 2); v != 10 {
		t.Errorf("tensor attr data_type = %d", v)
	}
	if raw := tv.one(t, 9).b; !reflect.DeepEqual(raw, []byte{0x00, 0x3c, 0x00, 0xc0}) {
		t.Errorf("tensor attr raw = %x", raw)
	}
}

func TestGraphErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *Graph)
	}{
		{"undefined input", func(g *Graph) { g.Node("Relu", []string{"nope"}, []string{"output"}) }},
		{"duplicate output", func(g *Graph) {
			g.Node("Relu", []string{"input"}, []string{"output"})
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"duplicate input", func(g *Graph) {
			g.Input("input2", Float, 1)
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"output not produced", func(g *Graph) {}},
		{"dims mismatch", func(g *Graph) {
			if err := g.Initializer("w", Float, []int64{2, 2}, []float32{1, 2, 3}); err == nil {
				t.Error("Initializer: no error")
			}
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"type mismatch", func(g *Graph) {
			_ = g.Initializer("w", Int64, []int64{1}, []float32{1})
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"negative dim", func(g *Graph) {
			_ = g.Initializer("w", Float, []int64{-1}, []float32{})
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"unsupported data", func(g *Graph) {
			_ = g.Initializer("w", Float, []int64{1}, []int16{1})
			g.Node("Relu", []string{"input"}, []string{"output"})
		}},
		{"bad tensor attr", func(g *Graph) {
			g.Node("Constant", nil, []string{"output"}, AttrTensor("value", Float, []int64{2}, []float32{1}))
		}},
		{"empty name", func(g *Graph) { g.Node("Relu", []string{"input"}, []string{""}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGraph("g")
			g.Input("input", Float, 1)
			g.Input("input2", Float, 1)
			g.Output("output", Float, 1)
			c.build(g)
			_, err := g.Marshal(17)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Marshal error = %v, want ErrInvalid", err)
			}
			t.Log(err)
		})
	}
	g := NewGraph("g")
	g.Input("input", Float, 1)
	g.Output("output", Float, 1)
	g.Node("Relu", []string{"input"}, []string{"output"})
	if _, err := g.Marshal(0); !errors.Is(err, ErrInvalid) {
		t.Errorf("opset 0: error = %v", err)
	}
}
