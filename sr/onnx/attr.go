package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Attr is one node attribute, already serialized. Build it with AttrInt, AttrFloats, ...
type Attr struct {
	name string
	b    []byte // serialized AttributeProto
	err  error  // from AttrTensor; reported by Graph.Node
}

func newAttr(name string, typ uint64) []byte {
	b := protowire.AppendTag(nil, attrName, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, typ)
}

// AttrInt returns an INT attribute.
func AttrInt(name string, v int64) Attr {
	b := newAttr(name, attrTypeInt)
	b = protowire.AppendTag(b, attrI, protowire.VarintType)
	return Attr{b: protowire.AppendVarint(b, uint64(v))}
}

// AttrInts returns an INTS attribute (written packed, which every protobuf parser accepts).
func AttrInts(name string, v ...int64) Attr {
	b := newAttr(name, attrTypeInts)
	var p []byte
	for _, x := range v {
		p = protowire.AppendVarint(p, uint64(x))
	}
	b = protowire.AppendTag(b, attrInts, protowire.BytesType)
	return Attr{b: protowire.AppendBytes(b, p)}
}

// AttrFloat returns a FLOAT attribute.
func AttrFloat(name string, v float32) Attr {
	b := newAttr(name, attrTypeFloat)
	b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
	return Attr{b: protowire.AppendFixed32(b, math.Float32bits(v))}
}

// AttrFloats returns a FLOATS attribute (written packed).
func AttrFloats(name string, v ...float32) Attr {
	b := newAttr(name, attrTypeFloats)
	p := make([]byte, 0, 4*len(v))
	for _, x := range v {
		p = protowire.AppendFixed32(p, math.Float32bits(x))
	}
	b = protowire.AppendTag(b, attrFloats, protowire.BytesType)
	return Attr{b: protowire.AppendBytes(b, p)}
}

// AttrString returns a STRING attribute.
func AttrString(name, v string) Attr {
	b := newAttr(name, attrTypeString)
	b = protowire.AppendTag(b, attrS, protowire.BytesType)
	return Attr{b: protowire.AppendString(b, v)}
}

// AttrTensor returns a TENSOR attribute (as used by Constant's "value"). data follows the rules of
// Graph.Initializer; a mismatch is reported by the Graph.Node call that uses the attribute, and by
// Marshal.
func AttrTensor(name string, t DType, dims []int64, data any) Attr {
	tb, err := encodeTensor("", t, dims, data)
	if err != nil {
		return Attr{name: name, err: err}
	}
	b := newAttr(name, attrTypeTensor)
	b = protowire.AppendTag(b, attrT, protowire.BytesType)
	return Attr{b: protowire.AppendBytes(b, tb)}
}
