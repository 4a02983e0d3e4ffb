package ort

// #include <stdlib.h>
// #include <string.h>
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// DType is a tensor element type.
type DType int

// Element types a Tensor can hold.
const (
	Float32 = DType(onnxruntime.TensorElementDataTypeFloat)
	Float16 = DType(onnxruntime.TensorElementDataTypeFloat16)
	Int64   = DType(onnxruntime.TensorElementDataTypeInt64)
)

func (t DType) size() int {
	switch t {
	case Float32:
		return 4
	case Float16:
		return 2
	case Int64:
		return 8
	}
	return 0
}

func (t DType) String() string {
	switch t {
	case Float32:
		return "float32"
	case Float16:
		return "float16"
	case Int64:
		return "int64"
	}
	return onnxruntime.TensorElementDataType(t).String()
}

// tensorAlign is the alignment of tensor memory: a cache line, which is also what MLAS prefers.
const tensorAlign = 64

// Tensor is a dense tensor in C memory that ONNX Runtime reads (inputs) or writes (outputs) in place.
//
// Its memory is allocated by C, so ONNX Runtime never holds a Go pointer; the Go views returned by
// Float32, Float16 and Int64 alias that memory and die at Close. A Tensor is as big as its shape says
// (4, 2 or 8 bytes an element) and belongs to one goroutine.
type Tensor struct {
	dtype DType
	shape []int64
	n     int
	ptr   unsafe.Pointer
	v     *onnxruntime.CustomDataTensor
}

// NewTensor allocates a zeroed tensor of type t and the given shape (all dims > 0).
func NewTensor(t DType, shape ...int64) (*Tensor, error) {
	if Loaded() == "" {
		return nil, fmt.Errorf("onnxruntime: new tensor: library not loaded")
	}
	es := t.size()
	if es == 0 {
		return nil, fmt.Errorf("onnxruntime: new tensor: unsupported element type %v", t)
	}
	n := int64(1)
	for _, d := range shape {
		if d <= 0 || n > math.MaxInt32/d {
			return nil, fmt.Errorf("onnxruntime: new tensor: bad shape %v", shape)
		}
		n *= d
	}
	bytes := (int(n)*es + tensorAlign - 1) / tensorAlign * tensorAlign
	ptr := C.aligned_alloc(tensorAlign, C.size_t(bytes))
	if ptr == nil {
		return nil, fmt.Errorf("onnxruntime: new tensor %v: out of memory (%d bytes)", shape, bytes)
	}
	C.memset(ptr, 0, C.size_t(bytes))
	t0 := &Tensor{dtype: t, shape: append([]int64(nil), shape...), n: int(n), ptr: ptr}
	v, err := onnxruntime.NewCustomDataTensor(onnxruntime.NewShape(shape...),
		unsafe.Slice((*byte)(ptr), int(n)*es), onnxruntime.TensorElementDataType(t))
	if err != nil {
		C.free(ptr)
		return nil, fmt.Errorf("onnxruntime: new tensor %v: %w", shape, err)
	}
	t0.v = v
	return t0, nil
}

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape returns a copy of the shape.
func (t *Tensor) Shape() []int64 { return append([]int64(nil), t.shape...) }

// Len returns the number of elements.
func (t *Tensor) Len() int { return t.n }

// Float32 returns the elements of a Float32 tensor (nil for other types or after Close). The slice
// aliases C memory: do not use it after Close.
func (t *Tensor) Float32() []float32 {
	if t.dtype != Float32 || t.ptr == nil {
		return nil
	}
	return unsafe.Slice((*float32)(t.ptr), t.n)
}

// Float16 returns the raw IEEE binary16 bits of a Float16 tensor (nil for other types or after
// Close); package sr/onnx converts them. The slice aliases C memory: do not use it after Close.
func (t *Tensor) Float16() []uint16 {
	if t.dtype != Float16 || t.ptr == nil {
		return nil
	}
	return unsafe.Slice((*uint16)(t.ptr), t.n)
}

// Int64 returns the elements of an Int64 tensor (nil for other types or after Close). The slice
// aliases C memory: do not use it after Close.
func (t *Tensor) Int64() []int64 {
	if t.dtype != Int64 || t.ptr == nil {
		return nil
	}
	return unsafe.Slice((*int64)(t.ptr), t.n)
}

// Close releases the ONNX Runtime value, then the memory. It is nil-safe and idempotent.
func (t *Tensor) Close() error {
	if t == nil || t.ptr == nil {
		return nil
	}
	err := t.v.Destroy()
	C.free(t.ptr)
	t.ptr, t.v = nil, nil
	return err
}

func (t *Tensor) String() string {
	return fmt.Sprintf("%v%v", t.dtype, t.shape)
}
