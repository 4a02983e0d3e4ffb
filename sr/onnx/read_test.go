package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// roundTripGraph writes a model using every feature of the writer (each element type, a scalar, an
// omitted input, symbolic dims, every attribute kind) and returns it with what ReadModel must make
// of it.
func roundTripGraph(t testing.TB) ([]byte, *Model) {
	t.Helper()
	g := NewGraph("round")
	g.Input("x", Float, 1, 3, -1, -1)
	g.Input("ids", Int64, -1)
	g.Output("y", Float, 1, 3, -1, -1)
	g.Output("n", Int32)
	inits := []struct {
		name string
		t    DType
		dims []int64
		data any
		raw  []byte
	}{
		{"w", Float, []int64{1, 3, 1, 1}, []float32{1, -2, 0.5}, le32(math.Float32bits(1), math.Float32bits(-2), math.Float32bits(0.5))},
		{"shape", Int64, []int64{2}, []int64{-1, 7}, le64(math.MaxUint64, 7)},
		{"i32", Int32, []int64{}, []int32{-5}, le32(math.MaxUint32 - 4)},
		{"u8", Uint8, []int64{2, 2}, []uint8{0, 1, 254, 255}, []byte{0, 1, 254, 255}},
		{"h", Float16, []int64{1}, []uint16{0x3c00}, []byte{0x00, 0x3c}},
		{"d", Double, []int64{1}, []float64{-0.25}, le64(math.Float64bits(-0.25))},
		{"empty", Float, []int64{0, 4}, []float32{}, nil},
		{"i8", Int8, []int64{3}, []int8{-128, -1, 127}, []byte{0x80, 0xff, 0x7f}},
	}
	want := &Model{IRVersion: IRVersion, Producer: Producer, Opset: 17, Name: "round",
		Inputs:  []ValueInfo{{"x", Float, []int64{1, 3, -1, -1}}, {"ids", Int64, []int64{-1}}},
		Outputs: []ValueInfo{{"y", Float, []int64{1, 3, -1, -1}}, {"n", Int32, []int64{}}},
	}
	for _, in := range inits {
		if err := g.Initializer(in.name, in.t, in.dims, in.data); err != nil {
			t.Fatal(err)
		}
		want.Initializers = append(want.Initializers, Tensor{Name: in.name, DType: in.t, Dims: in.dims, Raw: in.raw})
	}
	if want.Initializers[6].Raw == nil {
		want.Initializers[6].Raw = []byte{} // written as an empty raw_data field
	}
	g.Node("Mul", []string{"x", "w"}, []string{"m"})
	g.Node("Conv", []string{"m", "w", ""}, []string{"y"},
		AttrInts("pads", 1, 1, 1, 1), AttrInt("group", -3), AttrFloat("alpha", 0.25),
		AttrFloats("scales", 1, 2), AttrString("mode", "nearest"), AttrInts("none"),
		AttrTensor("value", Float16, []int64{2}, []uint16{0x3c00, 0xc000}))
	g.Node("Size", []string{"ids"}, []string{"n"}, AttrInt("big", math.MaxInt64), AttrInts("neg", -1, math.MinInt64))
	want.Nodes = []Node{
		{Name: "Mul_0", Op: "Mul", Inputs: []string{"x", "w"}, Outputs: []string{"m"}},
		{Name: "Conv_1", Op: "Conv", Inputs: []string{"m", "w", ""}, Outputs: []string{"y"}, Attrs: []Attribute{
			{Name: "pads", Type: attrTypeInts, Ints: []int64{1, 1, 1, 1}},
			{Name: "group", Type: attrTypeInt, Int: -3},
			{Name: "alpha", Type: attrTypeFloat, Float: 0.25},
			{Name: "scales", Type: attrTypeFloats, Floats: []float32{1, 2}},
			{Name: "mode", Type: attrTypeString, String: "nearest"},
			{Name: "none", Type: attrTypeInts},
			{Name: "value", Type: attrTypeTensor, Tensor: &Tensor{DType: Float16, Dims: []int64{2}, Raw: []byte{0x00, 0x3c, 0x00, 0xc0}}},
		}},
		{Name: "Size_2", Op: "Size", Inputs: []string{"ids"}, Outputs: []string{"n"}, Attrs: []Attribute{
			{Name: "big", Type: attrTypeInt, Int: math.MaxInt64},
			{Name: "neg", Type: attrTypeInts, Ints: []int64{-1, math.MinInt64}},
		}},
	}
	b, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	return b, want
}

func le32(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

func le64(v ...uint64) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

// TestReadModelRoundTrip reads back what the writer wrote.
func TestReadModelRoundTrip(t *testing.T) {
	b, want := roundTripGraph(t)
	in := bytes.Clone(b)
	got, err := ReadModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, in) {
		t.Fatal("ReadModel modified its input")
	}
	if !reflect.DeepEqual(got, want) {
		diff := func(what string, g, w any) {
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s:\ngot  %+v\nwant %+v", what, g, w)
			}
		}
		diff("header", []any{got.IRVersion, got.Producer, got.Opset, got.Name}, []any{want.IRVersion, want.Producer, want.Opset, want.Name})
		for i := range max(len(got.Nodes), len(want.Nodes)) {
			if i < len(got.Nodes) && i < len(want.Nodes) {
				diff(fmt.Sprintf("node %d", i), got.Nodes[i], want.Nodes[i])
			}
		}
		diff("node count", len(got.Nodes), len(want.Nodes))
		diff("initializers", got.Initializers, want.Initializers)
		diff("inputs", got.Inputs, want.Inputs)
		diff("outputs", got.Outputs, want.Outputs)
	}
	// The small int initializers are the constants shape inference folds.
	for i, v := range [][]int64{nil, {-1, 7}, {-5}, nil, nil, nil, nil} {
		if c := got.Initializers[i].int64s(maxConstInts); !reflect.DeepEqual(c, v) {
			t.Errorf("%s: int64s = %v, want %v", got.Initializers[i].Name, c, v)
		}
	}
	if a, ok := got.Nodes[1].Attr("mode"); !ok || a.String != "nearest" {
		t.Errorf("Attr(mode) = %+v, %v", a, ok)
	}
	if _, ok := got.Nodes[1].Attr("nope"); ok {
		t.Error("Attr(nope) found")
	}
}

// tag and field helpers for hand-made malformed messages.
func msgField(num protowire.Number, b []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
}

func varintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// readErrorCases are models ReadModel must reject with ErrInvalid.
func readErrorCases() []struct {
	name string
	b    []byte
} {
	tensor := func(dims ...int64) []byte {
		var b []byte
		for _, d := range dims {
			b = append(b, varintField(tensorDims, uint64(d))...)
		}
		return cat(b, varintField(tensorDataType, uint64(Int64)), msgField(tensorRawData, make([]byte, 64)))
	}
	model := func(graph ...[]byte) []byte { return msgField(modelGraph, cat(graph...)) }
	return []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"no graph", varintField(modelIRVersion, 8)},
		{"truncated tag", []byte{0x80}},
		{"truncated bytes", []byte{0x3a, 0x05, 0x0a}},
		{"graph as varint", varintField(modelGraph, 1)},
		{"name as varint", model(varintField(graphName, 3))},
		{"ir version as bytes", cat(msgField(modelIRVersion, []byte{8}), model())},
		{"negative dims", model(msgField(graphInitializer, tensor(-1, -8)))},
		{"dims overflow", model(msgField(graphInitializer, tensor(1<<32, 1<<32)))},
		{"bad packed ints", model(msgField(graphNode, msgField(nodeAttribute, msgField(attrInts, []byte{0x80}))))},
		{"bad packed floats", model(msgField(graphNode, msgField(nodeAttribute, msgField(attrFloats, []byte{1, 2, 3}))))},
		{"float as varint", model(msgField(graphNode, msgField(nodeAttribute, varintField(attrF, 1))))},
		{"bad dim", model(msgField(graphInput, msgField(valueInfoType, msgField(typeTensorType,
			msgField(tensorTypeShape, msgField(shapeDim, msgField(dimValue, []byte{1})))))))},
	}
}

func TestReadModelErrors(t *testing.T) {
	for _, c := range readErrorCases() {
		t.Run(c.name, func(t *testing.T) {
			m, err := ReadModel(c.b)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", m, err)
			}
			t.Log(err)
		})
	}
}

// FuzzReadModel feeds ReadModel (and shape inference on what it reads) mutations of the writer's
// output and of the malformed cases: no panic, no modified input, errors wrap ErrInvalid.
func FuzzReadModel(f *testing.F) {
	b, _ := roundTripGraph(f)
	f.Add(b)
	f.Add(macsGraph(f))
	for _, c := range readErrorCases() {
		f.Add(c.b)
	}
	for _, b := range malformedGraphs(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in := bytes.Clone(b)
		m, err := ReadModel(b)
		if !bytes.Equal(b, in) {
			t.Fatal("ReadModel modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		given := map[string][]int64{}
		for _, v := range m.Inputs {
			s := slices.Clone(v.Shape)
			for i := range s {
				s[i] = max(s[i], 3)
			}
			given[v.Name] = s
		}
		m.CountMACs(nil)
		m.CountMACs(given)
	})
}
