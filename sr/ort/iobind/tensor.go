package iobind

// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// Tensor is a dense tensor in a Memory: on CUDA its data is device memory, which the host cannot
// read; Upload and Download move data in and out. A view (see View) shares another tensor's memory.
type Tensor struct {
	m      *Memory
	dtype  ort.DType
	shape  []int64
	n      int
	v      *C.OrtValue
	data   unsafe.Pointer // device address (a host address on the CPU)
	flat   *C.OrtValue    // rank-1 view of the same memory, for copies; made on first use
	parent *Tensor        // nil unless a view
}

func elemSize(t ort.DType) int {
	switch t {
	case ort.Float32:
		return 4
	case ort.Float16:
		return 2
	case ort.Int64:
		return 8
	}
	return 0
}

func count(shape []int64) (int, error) {
	n := int64(1)
	for _, d := range shape {
		if d <= 0 || n > math.MaxInt32/d {
			return 0, fmt.Errorf("bad shape %v", shape)
		}
		n *= d
	}
	return int(n), nil
}

// NewTensor allocates a tensor of type t and the given shape (all dims > 0) with the memory's
// allocator. Its contents are undefined until written (Upload, or a session's output).
func (m *Memory) NewTensor(t ort.DType, shape ...int64) (*Tensor, error) {
	if m.closed {
		return nil, fmt.Errorf("iobind: new tensor: memory is closed")
	}
	if elemSize(t) == 0 {
		return nil, fmt.Errorf("iobind: new tensor: unsupported element type %v", t)
	}
	n, err := count(shape)
	if err != nil {
		return nil, fmt.Errorf("iobind: new tensor: %w", err)
	}
	x := &Tensor{m: m, dtype: t, shape: append([]int64(nil), shape...), n: n}
	var v *C.OrtValue
	var data unsafe.Pointer
	if err := cerr(C.ugb_tensor_alloc(m.alloc, (*C.int64_t)(unsafe.Pointer(&x.shape[0])), C.size_t(len(shape)),
		C.int(t), &v, &data)); err != nil {
		return nil, fmt.Errorf("iobind: new tensor %v%v on %v: %w", t, shape, m, err)
	}
	x.v, x.data = v, data
	m.tensors = append(m.tensors, x)
	return x, nil
}

// View returns a tensor of the given shape over t's memory from element off on (a slice of t's
// elements in their order). It allocates nothing; it must not be used after t is closed.
func (t *Tensor) View(off int, shape ...int64) (*Tensor, error) {
	if t.v == nil {
		return nil, fmt.Errorf("iobind: view: tensor is closed")
	}
	n, err := count(shape)
	if err != nil {
		return nil, fmt.Errorf("iobind: view: %w", err)
	}
	if off < 0 || off+n > t.n {
		return nil, fmt.Errorf("iobind: view of %d elements at %d in a tensor of %d", n, off, t.n)
	}
	x := &Tensor{m: t.m, dtype: t.dtype, shape: append([]int64(nil), shape...), n: n, parent: t,
		data: unsafe.Add(t.data, off*elemSize(t.dtype))}
	v, err := x.wrap(x.shape)
	if err != nil {
		return nil, fmt.Errorf("iobind: view: %w", err)
	}
	x.v = v
	t.m.tensors = append(t.m.tensors, x)
	return x, nil
}

// wrap makes an OrtValue of the given shape over x's memory.
func (x *Tensor) wrap(shape []int64) (*C.OrtValue, error) {
	var v *C.OrtValue
	err := cerr(C.ugb_tensor_view(x.m.info, x.data, C.size_t(x.n*elemSize(x.dtype)),
		(*C.int64_t)(unsafe.Pointer(&shape[0])), C.size_t(len(shape)), C.int(x.dtype), &v))
	return v, err
}

// flatValue returns the rank-1 view of x used by copies.
func (x *Tensor) flatValue() (*C.OrtValue, error) {
	if x.flat == nil {
		v, err := x.wrap([]int64{int64(x.n)})
		if err != nil {
			return nil, err
		}
		x.flat = v
	}
	return x.flat, nil
}

// DType returns the element type.
func (x *Tensor) DType() ort.DType { return x.dtype }

// Shape returns a copy of the shape.
func (x *Tensor) Shape() []int64 { return append([]int64(nil), x.shape...) }

// Len returns the number of elements.
func (x *Tensor) Len() int { return x.n }

// Bytes returns the size of the data in bytes.
func (x *Tensor) Bytes() int { return x.n * elemSize(x.dtype) }

func (x *Tensor) String() string { return fmt.Sprintf("%v%v on %v", x.dtype, x.shape, x.m) }

// Close releases the tensor (for a view, only the view). It is nil-safe and idempotent; views of a
// tensor must be closed before it (Memory.Close does so).
func (x *Tensor) Close() error {
	if x == nil || x.v == nil {
		return nil
	}
	if x.flat != nil {
		C.ugb_release_value(x.flat)
		x.flat = nil
	}
	C.ugb_release_value(x.v)
	x.v, x.data = nil, nil
	return nil
}
