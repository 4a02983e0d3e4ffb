package onnx

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// Producer is the ModelProto.producer_name Marshal writes.
const Producer = "ugcsr"

// Graph collects inputs, outputs, initializers and nodes, then serializes them as a model.
//
// Mistakes (a node input nothing defines, a value defined twice, tensor data that does not match its
// dims) are remembered and returned by Marshal, so building code can chain calls without checking
// each one. A Graph is not safe for concurrent use.
type Graph struct {
	name    string
	inputs  [][]byte // serialized ValueInfoProto
	outputs [][]byte
	inits   [][]byte // serialized TensorProto
	nodes   [][]byte // serialized NodeProto

	outNames []string
	defined  map[string]bool
	err      error // first mistake
}

// NewGraph returns an empty graph called name.
func NewGraph(name string) *Graph {
	return &Graph{name: name, defined: map[string]bool{}}
}

func (g *Graph) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

func (g *Graph) define(what, name string) {
	switch {
	case name == "":
		g.fail(fmt.Errorf("%w: %s with an empty name", ErrInvalid, what))
	case g.defined[name]:
		g.fail(fmt.Errorf("%w: %s %q: name already defined", ErrInvalid, what, name))
	}
	g.defined[name] = true
}

// Input declares a graph input. A negative dim becomes a symbolic dim named "<name>_d<i>".
func (g *Graph) Input(name string, t DType, shape ...int64) {
	g.define("input", name)
	g.inputs = append(g.inputs, valueInfo(name, t, shape))
}

// Output declares a graph output, which some node must produce. A negative dim becomes a symbolic
// dim named "<name>_d<i>".
func (g *Graph) Output(name string, t DType, shape ...int64) {
	g.outNames = append(g.outNames, name)
	g.outputs = append(g.outputs, valueInfo(name, t, shape))
}

// Initializer adds a constant. data is a []float32, []int64, []int32, []uint16 (raw fp16 bits),
// []float64, []uint8 or []int8 matching t, with prod(dims) elements. The data is copied.
func (g *Graph) Initializer(name string, t DType, dims []int64, data any) error {
	b, err := encodeTensor(name, t, dims, data)
	if err != nil {
		g.fail(err)
		return err
	}
	g.define("initializer", name)
	g.inits = append(g.inits, b)
	return nil
}

// Node appends a node running op (default domain) on inputs, producing outputs, and returns outputs.
// An empty input name marks an omitted optional input. Nodes must be added in topological order.
func (g *Graph) Node(op string, inputs, outputs []string, attrs ...Attr) []string {
	id := op + "_" + strconv.Itoa(len(g.nodes))
	for _, in := range inputs {
		if in != "" && !g.defined[in] {
			g.fail(fmt.Errorf("%w: node %s: input %q is not defined yet", ErrInvalid, id, in))
		}
	}
	for _, out := range outputs {
		g.define("node "+id+" output", out)
	}
	var b []byte
	for _, in := range inputs {
		b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
		b = protowire.AppendString(b, in)
	}
	for _, out := range outputs {
		b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
		b = protowire.AppendString(b, out)
	}
	b = protowire.AppendTag(b, nodeName, protowire.BytesType)
	b = protowire.AppendString(b, id)
	b = protowire.AppendTag(b, nodeOpType, protowire.BytesType)
	b = protowire.AppendString(b, op)
	for _, a := range attrs {
		if a.err != nil {
			g.fail(fmt.Errorf("node %s: attribute %q: %w", id, a.name, a.err))
			continue
		}
		b = protowire.AppendTag(b, nodeAttribute, protowire.BytesType)
		b = protowire.AppendBytes(b, a.b)
	}
	g.nodes = append(g.nodes, b)
	return outputs
}

// Marshal returns the serialized ModelProto: IR version 8, the default-domain opset version opset
// (e.g. 17), and the graph. The result holds a copy of every initializer, so it costs about their
// total size.
func (g *Graph) Marshal(opset int64) ([]byte, error) {
	if g.err != nil {
		return nil, g.err
	}
	if opset <= 0 {
		return nil, fmt.Errorf("%w: opset version %d", ErrInvalid, opset)
	}
	if len(g.outputs) == 0 {
		return nil, fmt.Errorf("%w: graph has no outputs", ErrInvalid)
	}
	for _, name := range g.outNames {
		if !g.defined[name] {
			return nil, fmt.Errorf("%w: output %q is not produced by any node", ErrInvalid, name)
		}
	}

	fields := []struct {
		num  protowire.Number
		msgs [][]byte
	}{
		{graphNode, g.nodes},
		{graphInitializer, g.inits},
		{graphInput, g.inputs},
		{graphOutput, g.outputs},
	}
	graphLen := protowire.SizeTag(graphName) + protowire.SizeBytes(len(g.name))
	for _, f := range fields {
		for _, m := range f.msgs {
			graphLen += protowire.SizeTag(f.num) + protowire.SizeBytes(len(m))
		}
	}

	var opsetMsg []byte
	opsetMsg = protowire.AppendTag(opsetMsg, opsetVersion, protowire.VarintType)
	opsetMsg = protowire.AppendVarint(opsetMsg, uint64(opset))

	b := make([]byte, 0, 64+len(Producer)+protowire.SizeBytes(graphLen))
	b = protowire.AppendTag(b, modelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, IRVersion)
	b = protowire.AppendTag(b, modelProducerName, protowire.BytesType)
	b = protowire.AppendString(b, Producer)
	b = protowire.AppendTag(b, modelOpsetImport, protowire.BytesType)
	b = protowire.AppendBytes(b, opsetMsg)
	b = protowire.AppendTag(b, modelGraph, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(graphLen))
	start := len(b)
	b = protowire.AppendTag(b, graphName, protowire.BytesType)
	b = protowire.AppendString(b, g.name)
	for _, f := range fields {
		for _, m := range f.msgs {
			b = protowire.AppendTag(b, f.num, protowire.BytesType)
			b = protowire.AppendBytes(b, m)
		}
	}
	if len(b)-start != graphLen {
		return nil, fmt.Errorf("onnx: internal error: graph size %d, computed %d", len(b)-start, graphLen)
	}
	return b, nil
}

// valueInfo returns a serialized ValueInfoProto for a tensor of type t and the given shape.
func valueInfo(name string, t DType, shape []int64) []byte {
	var sh []byte
	for i, d := range shape {
		var dim []byte
		if d < 0 {
			dim = protowire.AppendTag(dim, dimParam, protowire.BytesType)
			dim = protowire.AppendString(dim, name+"_d"+strconv.Itoa(i))
		} else {
			dim = protowire.AppendTag(dim, dimValue, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		sh = protowire.AppendTag(sh, shapeDim, protowire.BytesType)
		sh = protowire.AppendBytes(sh, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, tensorTypeElemType, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(t))
	tt = protowire.AppendTag(tt, tensorTypeShape, protowire.BytesType)
	tt = protowire.AppendBytes(tt, sh)
	var typ []byte
	typ = protowire.AppendTag(typ, typeTensorType, protowire.BytesType)
	typ = protowire.AppendBytes(typ, tt)
	var b []byte
	b = protowire.AppendTag(b, valueInfoName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, valueInfoType, protowire.BytesType)
	return protowire.AppendBytes(b, typ)
}
