package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// encodeTensor returns a serialized TensorProto holding data as raw_data. data must be the Go slice
// type matching t ([]float32 for Float, []uint16 holding raw fp16 bits for Float16, ...) with
// exactly prod(dims) elements.
func encodeTensor(name string, t DType, dims []int64, data any) ([]byte, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return nil, fmt.Errorf("%w: tensor %q: negative dim in %v", ErrInvalid, name, dims)
		}
		if d != 0 && n > math.MaxInt32/d {
			return nil, fmt.Errorf("%w: tensor %q: dims %v too large", ErrInvalid, name, dims)
		}
		n *= d
	}
	var have int
	ok := true
	switch v := data.(type) {
	case []float32:
		have, ok = len(v), t == Float
	case []uint16:
		have, ok = len(v), t == Float16
	case []int32:
		have, ok = len(v), t == Int32
	case []int64:
		have, ok = len(v), t == Int64
	case []float64:
		have, ok = len(v), t == Double
	case []uint8:
		have, ok = len(v), t == Uint8
	case []int8:
		have, ok = len(v), t == Int8
	default:
		return nil, fmt.Errorf("%w: tensor %q: unsupported data %T", ErrInvalid, name, data)
	}
	if !ok {
		return nil, fmt.Errorf("%w: tensor %q: data %T does not hold %v", ErrInvalid, name, data, t)
	}
	if int64(have) != n {
		return nil, fmt.Errorf("%w: tensor %q: dims %v need %d values, have %d", ErrInvalid, name, dims, n, have)
	}

	rawLen := int(n) * t.size()
	b := make([]byte, 0, 32+len(name)+11*len(dims)+rawLen)
	for _, d := range dims {
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorDataType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t))
	if name != "" {
		b = protowire.AppendTag(b, tensorName, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	b = protowire.AppendTag(b, tensorRawData, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(rawLen))
	le := binary.LittleEndian
	switch v := data.(type) {
	case []float32:
		for _, x := range v {
			b = le.AppendUint32(b, math.Float32bits(x))
		}
	case []uint16:
		for _, x := range v {
			b = le.AppendUint16(b, x)
		}
	case []int32:
		for _, x := range v {
			b = le.AppendUint32(b, uint32(x))
		}
	case []int64:
		for _, x := range v {
			b = le.AppendUint64(b, uint64(x))
		}
	case []float64:
		for _, x := range v {
			b = le.AppendUint64(b, math.Float64bits(x))
		}
	case []uint8:
		b = append(b, v...)
	case []int8:
		for _, x := range v {
			b = append(b, byte(x))
		}
	}
	return b, nil
}
