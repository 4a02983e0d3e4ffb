// Package onnx writes small ONNX models (a ModelProto with one graph) from Go, without protoc, and
// reads models back far enough to infer shapes and count multiply-accumulates.
//
// It encodes and decodes the protobuf wire format by hand with
// google.golang.org/protobuf/encoding/protowire rather than generated code: a converter needs only
// seven messages (ModelProto, OperatorSetIdProto, GraphProto, NodeProto, AttributeProto,
// TensorProto, ValueInfoProto and its type/shape helpers), and hand coding keeps the build free of
// a protoc/codegen step and of a vendored multi-thousand-line onnx.pb.go. The writer (Graph) and
// the reader (ReadModel) share one set of field numbers (proto.go), those of onnx/onnx.proto.
//
// Initializers are stored as little-endian raw_data. Models are written with IR version 8 and one
// default-domain opset import whose version the caller picks.
package onnx

import (
	"errors"
	"fmt"
)

// DType is an element type; its values are those of ONNX TensorProto.DataType.
type DType int32

// Element types this package can write.
const (
	Float   DType = 1
	Uint8   DType = 2
	Int8    DType = 3
	Int32   DType = 6
	Int64   DType = 7
	Float16 DType = 10
	Double  DType = 11
)

// IRVersion is the ModelProto.ir_version Marshal writes.
const IRVersion = 8

// String returns the ONNX name of t.
func (t DType) String() string {
	switch t {
	case Float:
		return "FLOAT"
	case Uint8:
		return "UINT8"
	case Int8:
		return "INT8"
	case Int32:
		return "INT32"
	case Int64:
		return "INT64"
	case Float16:
		return "FLOAT16"
	case Double:
		return "DOUBLE"
	}
	return fmt.Sprintf("DType(%d)", int32(t))
}

// size returns the byte size of one element, or 0 for a type this package does not know.
func (t DType) size() int {
	switch t {
	case Uint8, Int8:
		return 1
	case Float16:
		return 2
	case Float, Int32:
		return 4
	case Int64, Double:
		return 8
	}
	return 0
}

// ErrInvalid is wrapped by every error about a malformed graph: when writing, bad tensor data, a
// node input that nothing defines, duplicate names; when reading, a message that does not parse, a
// field of the wrong wire type, a negative or oversized tensor shape.
var ErrInvalid = errors.New("onnx: invalid graph")
