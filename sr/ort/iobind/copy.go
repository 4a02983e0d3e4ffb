package iobind

// #include "shim.h"
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// Elem is an element type Upload and Download move: float32 (ort.Float32), uint16 (the raw bits of
// ort.Float16) or int64 (ort.Int64).
type Elem interface {
	~float32 | ~uint16 | ~int64
}

func dtypeOf[T Elem]() ort.DType {
	var z T
	switch any(z).(type) {
	case float32:
		return ort.Float32
	case uint16:
		return ort.Float16
	}
	return ort.Int64
}

// Upload copies src into dst (host -> device) and counts the bytes. len(src) must equal dst.Len()
// and T must match dst's element type.
func Upload[T Elem](dst *Tensor, src []T) error {
	if err := check[T](dst, len(src)); err != nil {
		return fmt.Errorf("iobind: upload: %w", err)
	}
	if err := dst.m.copyHost(dst, unsafe.Pointer(&src[0]), true); err != nil {
		return fmt.Errorf("iobind: upload to %v: %w", dst, err)
	}
	return nil
}

// Download copies src into dst (device -> host) and counts the bytes. len(dst) must equal
// src.Len() and T must match src's element type.
func Download[T Elem](dst []T, src *Tensor) error {
	if err := check[T](src, len(dst)); err != nil {
		return fmt.Errorf("iobind: download: %w", err)
	}
	if err := src.m.copyHost(src, unsafe.Pointer(&dst[0]), false); err != nil {
		return fmt.Errorf("iobind: download from %v: %w", src, err)
	}
	return nil
}

func check[T Elem](t *Tensor, n int) error {
	switch {
	case t == nil || t.v == nil:
		return fmt.Errorf("tensor is nil or closed")
	case dtypeOf[T]() != t.dtype:
		return fmt.Errorf("host %v, tensor %v", dtypeOf[T](), t)
	case n != t.n:
		return fmt.Errorf("host %d elements, tensor %v", n, t)
	}
	return nil
}

// copyHost moves t's bytes between t and host (Go or C memory of the same size, read or written
// only during the call) in the memory's copy mode, and counts them.
func (m *Memory) copyHost(t *Tensor, host unsafe.Pointer, up bool) error {
	bytes := t.Bytes()
	switch m.copy {
	case CopyMemcpy:
		dev := unsafe.Slice((*byte)(t.data), bytes)
		h := unsafe.Slice((*byte)(host), bytes)
		if up {
			copy(dev, h)
		} else {
			copy(h, dev)
		}
	case CopyIdentity:
		flat, err := t.flatValue()
		if err != nil {
			return err
		}
		s, err := m.identity(t.dtype)
		if err != nil {
			return err
		}
		shape := []C.int64_t{C.int64_t(t.n)}
		dir := C.int(0)
		if up {
			dir = 1
		}
		if err := cerr(C.ugb_copy_identity(s.s, s.b, s.ro, m.hostInfo, host, C.size_t(bytes), &shape[0], 1,
			C.int(t.dtype), flat, dir)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("copy mode %v", m.copy)
	}
	m.copies.Add(1)
	if up {
		m.up.Add(int64(bytes))
	} else {
		m.down.Add(int64(bytes))
	}
	return nil
}
