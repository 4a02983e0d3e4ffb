package onnx

import "google.golang.org/protobuf/encoding/protowire"

// Field numbers of onnx/onnx.proto, shared by the writer (Graph.Marshal) and the reader
// (ReadModel).
const (
	// ModelProto.
	modelIRVersion    protowire.Number = 1
	modelProducerName protowire.Number = 2
	modelGraph        protowire.Number = 7
	modelOpsetImport  protowire.Number = 8

	// OperatorSetIdProto.
	opsetDomain  protowire.Number = 1
	opsetVersion protowire.Number = 2

	// GraphProto.
	graphNode        protowire.Number = 1
	graphName        protowire.Number = 2
	graphInitializer protowire.Number = 5
	graphInput       protowire.Number = 11
	graphOutput      protowire.Number = 12

	// NodeProto.
	nodeInput     protowire.Number = 1
	nodeOutput    protowire.Number = 2
	nodeName      protowire.Number = 3
	nodeOpType    protowire.Number = 4
	nodeAttribute protowire.Number = 5
	nodeDomain    protowire.Number = 7

	// AttributeProto.
	attrName   protowire.Number = 1
	attrF      protowire.Number = 2
	attrI      protowire.Number = 3
	attrS      protowire.Number = 4
	attrT      protowire.Number = 5
	attrFloats protowire.Number = 7
	attrInts   protowire.Number = 8
	attrType   protowire.Number = 20

	// TensorProto.
	tensorDims      protowire.Number = 1
	tensorDataType  protowire.Number = 2
	tensorInt32Data protowire.Number = 5
	tensorInt64Data protowire.Number = 7
	tensorName      protowire.Number = 8
	tensorRawData   protowire.Number = 9
	tensorExternal  protowire.Number = 13 // repeated StringStringEntryProto
	tensorLocation  protowire.Number = 14 // DataLocation: 1 EXTERNAL

	// StringStringEntryProto.
	entryKey   protowire.Number = 1
	entryValue protowire.Number = 2

	// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto, TensorShapeProto.Dimension.
	valueInfoName      protowire.Number = 1
	valueInfoType      protowire.Number = 2
	typeTensorType     protowire.Number = 1
	tensorTypeElemType protowire.Number = 1
	tensorTypeShape    protowire.Number = 2
	shapeDim           protowire.Number = 1
	dimValue           protowire.Number = 1
	dimParam           protowire.Number = 2
)

// AttributeProto.AttributeType values.
const (
	attrTypeFloat  = 1
	attrTypeInt    = 2
	attrTypeString = 3
	attrTypeTensor = 4
	attrTypeFloats = 6
	attrTypeInts   = 7
)
