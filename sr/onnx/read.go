package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Model is what ReadModel keeps of a ModelProto: the fields Graph.Marshal writes, which are also
// what shape inference needs. Other fields (doc strings, metadata, value_info, subgraphs, external
// data offsets) are skipped.
type Model struct {
	IRVersion int64
	Producer  string
	// Opset is the version of the default-domain opset import (0 when there is none).
	Opset int64
	// Name is the graph's name.
	Name         string
	Nodes        []Node
	Initializers []Tensor
	Inputs       []ValueInfo
	Outputs      []ValueInfo
}

// Node is a NodeProto.
type Node struct {
	Name, Op        string
	Domain          string   // "" for the default ONNX domain, e.g. "com.microsoft" for ONNX Runtime's
	Inputs, Outputs []string // "" marks an omitted optional input
	Attrs           []Attribute
}

// Attribute is an AttributeProto. Only the field its Type names is meaningful.
type Attribute struct {
	Name string
	// Type is the AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS,
	// 7 INTS (0 when the model does not say).
	Type   int
	Float  float32
	Int    int64
	String string
	Tensor *Tensor
	Floats []float32
	Ints   []int64
}

// Tensor is a TensorProto.
type Tensor struct {
	Name  string
	DType DType
	// Dims is the shape; a scalar has none (an empty, non-nil slice).
	Dims []int64
	// Raw is raw_data. It aliases the buffer given to ReadModel.
	Raw []byte
	// Ints holds int32_data and int64_data, the fields some exporters use instead of raw_data for
	// small integer tensors.
	Ints []int64
	// External is the file holding the data when it is stored outside the model ("" when not).
	External string
}

// ValueInfo is a graph input or output.
type ValueInfo struct {
	Name  string
	DType DType
	// Shape holds the dims, -1 for a symbolic or unknown one; nil when the type has no shape.
	Shape []int64
}

// Attr returns the attribute called name and whether n has one.
func (n *Node) Attr(name string) (Attribute, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attribute{}, false
}

// ReadModel parses a serialized ModelProto, as written by Graph.Marshal or an exporter. It reads
// untrusted input: a malformed message, a field of the wrong wire type, a negative tensor dim or a
// tensor too large to address gives an error wrapping ErrInvalid. The Model aliases b (tensor data
// is not copied); everything else it holds costs about the size of the graph's structure.
func ReadModel(b []byte) (*Model, error) {
	m := &Model{}
	haveGraph := false
	err := walk(b, func(f *protoField) {
		switch f.num {
		case modelIRVersion:
			m.IRVersion = int64(f.varint())
		case modelProducerName:
			m.Producer = f.str()
		case modelOpsetImport:
			var domain string
			var version int64
			f.sub(func(f *protoField) {
				switch f.num {
				case opsetDomain:
					domain = f.str()
				case opsetVersion:
					version = int64(f.varint())
				}
			})
			if domain == "" || domain == "ai.onnx" {
				m.Opset = version
			}
		case modelGraph:
			haveGraph = true
			f.check(readGraph(m, f.bytes()))
		}
	})
	if err != nil {
		return nil, err
	}
	if !haveGraph {
		return nil, fmt.Errorf("%w: model has no graph", ErrInvalid)
	}
	return m, nil
}

// readGraph reads a GraphProto into m. A model with several graph fields keeps the last one.
func readGraph(m *Model, b []byte) error {
	m.Name, m.Nodes, m.Initializers, m.Inputs, m.Outputs = "", nil, nil, nil, nil
	return walk(b, func(f *protoField) {
		switch f.num {
		case graphNode:
			n, err := readNode(f.bytes())
			f.check(err)
			m.Nodes = append(m.Nodes, n)
		case graphName:
			m.Name = f.str()
		case graphInitializer:
			t, err := readTensor(f.bytes())
			if err != nil {
				f.check(err)
				return
			}
			m.Initializers = append(m.Initializers, *t)
		case graphInput, graphOutput:
			v, err := readValueInfo(f.bytes())
			f.check(err)
			if f.num == graphInput {
				m.Inputs = append(m.Inputs, v)
			} else {
				m.Outputs = append(m.Outputs, v)
			}
		}
	})
}

func readNode(b []byte) (Node, error) {
	var n Node
	err := walk(b, func(f *protoField) {
		switch f.num {
		case nodeInput:
			n.Inputs = append(n.Inputs, f.str())
		case nodeOutput:
			n.Outputs = append(n.Outputs, f.str())
		case nodeName:
			n.Name = f.str()
		case nodeOpType:
			n.Op = f.str()
		case nodeDomain:
			n.Domain = f.str()
		case nodeAttribute:
			a, err := readAttr(f.bytes())
			f.check(err)
			n.Attrs = append(n.Attrs, a)
		}
	})
	return n, err
}

func readAttr(b []byte) (Attribute, error) {
	var a Attribute
	err := walk(b, func(f *protoField) {
		switch f.num {
		case attrName:
			a.Name = f.str()
		case attrType:
			a.Type = int(f.varint())
		case attrF:
			a.Float = math.Float32frombits(f.fixed32())
		case attrI:
			a.Int = int64(f.varint())
		case attrS:
			a.String = f.str()
		case attrT:
			t, err := readTensor(f.bytes())
			f.check(err)
			a.Tensor = t
		case attrFloats:
			a.Floats = f.appendFloats(a.Floats)
		case attrInts:
			a.Ints = f.appendInts(a.Ints)
		}
	})
	return a, err
}

// maxElems bounds the element count of a tensor: prod(dims) must fit an int64 byte count.
const maxElems = math.MaxInt64 / 16

func readTensor(b []byte) (*Tensor, error) {
	t := &Tensor{Dims: []int64{}} // a scalar has no dims, and a known shape
	err := walk(b, func(f *protoField) {
		switch f.num {
		case tensorDims:
			t.Dims = f.appendInts(t.Dims)
		case tensorDataType:
			t.DType = DType(f.varint())
		case tensorInt32Data, tensorInt64Data:
			t.Ints = f.appendInts(t.Ints)
		case tensorName:
			t.Name = f.str()
		case tensorRawData:
			t.Raw = f.bytes()
		case tensorExternal:
			var k, v string
			f.sub(func(f *protoField) {
				switch f.num {
				case entryKey:
					k = f.str()
				case entryValue:
					v = f.str()
				}
			})
			if k == "location" {
				t.External = v
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if _, err := elems(t.Dims); err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrInvalid, t.Name, err)
	}
	return t, nil
}

// elems returns prod(dims), or an error when a dim is negative or the product exceeds maxElems.
func elems(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dim in %v", dims)
		}
		if d != 0 && n > maxElems/d {
			return 0, fmt.Errorf("dims %v too large", dims)
		}
		n *= d
	}
	return n, nil
}

// int64s returns the values of an INT32 or INT64 tensor of at most limit elements, from raw_data or
// the int fields, or nil when t is another type, larger, or its data is missing or the wrong size.
func (t *Tensor) int64s(limit int64) []int64 {
	n, err := elems(t.Dims)
	if err != nil || n > limit || (t.DType != Int32 && t.DType != Int64) {
		return nil
	}
	size := int64(t.DType.size())
	switch {
	case int64(len(t.Raw)) == size*n && len(t.Raw) > 0:
		v := make([]int64, n)
		for i := range v {
			if t.DType == Int64 {
				v[i] = int64(binary.LittleEndian.Uint64(t.Raw[8*i:]))
			} else {
				v[i] = int64(int32(binary.LittleEndian.Uint32(t.Raw[4*i:])))
			}
		}
		return v
	case int64(len(t.Ints)) == n:
		return t.Ints
	}
	return nil
}

func readValueInfo(b []byte) (ValueInfo, error) {
	var v ValueInfo
	err := walk(b, func(f *protoField) {
		switch f.num {
		case valueInfoName:
			v.Name = f.str()
		case valueInfoType:
			f.sub(func(f *protoField) {
				if f.num != typeTensorType {
					return
				}
				f.sub(func(f *protoField) {
					switch f.num {
					case tensorTypeElemType:
						v.DType = DType(f.varint())
					case tensorTypeShape:
						v.Shape = []int64{}
						f.sub(func(f *protoField) {
							if f.num != shapeDim {
								return
							}
							d := int64(-1)
							f.sub(func(f *protoField) {
								if f.num == dimValue {
									d = int64(f.varint())
								}
							})
							v.Shape = append(v.Shape, max(d, -1))
						})
					}
				})
			})
		}
	})
	return v, err
}

// protoField is one protobuf field as walk hands it to its callback. Its accessors check the wire type;
// a mismatch, or an error passed to check, is kept in err and ends the walk.
type protoField struct {
	num protowire.Number
	typ protowire.Type
	b   []byte // length-delimited fields
	x   uint64 // varint, fixed32 and fixed64 fields
	err error
}

// check records err (the first one counts).
func (f *protoField) check(err error) {
	if f.err == nil {
		f.err = err
	}
}

func (f *protoField) want(typ protowire.Type) bool {
	if f.typ != typ {
		f.check(fmt.Errorf("%w: field %d: wire type %d, want %d", ErrInvalid, f.num, f.typ, typ))
		return false
	}
	return true
}

func (f *protoField) bytes() []byte {
	if !f.want(protowire.BytesType) {
		return nil
	}
	return f.b
}

func (f *protoField) str() string { return string(f.bytes()) }

func (f *protoField) varint() uint64 {
	if !f.want(protowire.VarintType) {
		return 0
	}
	return f.x
}

func (f *protoField) fixed32() uint32 {
	if !f.want(protowire.Fixed32Type) {
		return 0
	}
	return uint32(f.x)
}

// sub walks the embedded message in f.
func (f *protoField) sub(fn func(*protoField)) {
	if b := f.bytes(); f.err == nil {
		f.check(walk(b, fn))
	}
}

// appendInts appends a repeated int64 field, packed or not.
func (f *protoField) appendInts(dst []int64) []int64 {
	if f.typ != protowire.BytesType {
		return append(dst, int64(f.varint()))
	}
	for v := f.b; len(v) > 0; {
		u, n := protowire.ConsumeVarint(v)
		if n < 0 {
			f.check(fmt.Errorf("%w: field %d: %v", ErrInvalid, f.num, protowire.ParseError(n)))
			return dst
		}
		dst = append(dst, int64(u))
		v = v[n:]
	}
	return dst
}

// appendFloats appends a repeated float field, packed or not.
func (f *protoField) appendFloats(dst []float32) []float32 {
	if f.typ != protowire.BytesType {
		return append(dst, math.Float32frombits(f.fixed32()))
	}
	if len(f.b)%4 != 0 {
		f.check(fmt.Errorf("%w: field %d: packed floats of %d bytes", ErrInvalid, f.num, len(f.b)))
		return dst
	}
	for v := f.b; len(v) > 0; v = v[4:] {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(v)))
	}
	return dst
}

// walk calls fn for every field of message b, in order, and stops at the first error: a malformed
// field or one fn recorded.
func walk(b []byte, fn func(*protoField)) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: %v", ErrInvalid, protowire.ParseError(n))
		}
		b = b[n:]
		f := protoField{num: num, typ: typ}
		switch typ {
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var u uint32
			u, n = protowire.ConsumeFixed32(b)
			f.x = uint64(u)
		case protowire.Fixed64Type:
			f.x, n = protowire.ConsumeFixed64(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d: %v", ErrInvalid, num, protowire.ParseError(n))
		}
		b = b[n:]
		fn(&f)
		if f.err != nil {
			return f.err
		}
	}
	return nil
}
