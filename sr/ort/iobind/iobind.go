// Package iobind runs ONNX Runtime sessions on tensors that stay in one device's memory, through a
// small cgo shim over the C API that onnxruntime_go does not wrap: memory info and an allocator for
// a device, tensors allocated there, IoBinding with inputs and outputs bound to them,
// RunWithBinding and SynchronizeBoundOutputs. Data crosses between host and device only through
// Upload and Download, which count the bytes they move.
//
// The same code serves the CPU ("Cpu" memory, where a tensor is host memory and a copy is a
// memcpy) and CUDA ("Cuda" memory of one GPU): the device is a parameter of Memory.
//
// Lifetimes: package ort must have loaded the library (ort.Load); the shim reaches the same library
// with dlopen(RTLD_NOLOAD) and shares its process-wide environment. A Memory owns every tensor and
// session made from it: Memory.Close releases those still open, so closing them one by one first is
// optional. A Memory, its tensors and its sessions belong to one goroutine.
package iobind

// #cgo CFLAGS: -I${SRCDIR}/include -O2
// #cgo LDFLAGS: -ldl
// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// ErrNotLoaded is returned by NewMemory before ort.Load has loaded ONNX Runtime.
var ErrNotLoaded = errors.New("iobind: ONNX Runtime is not loaded")

// capi guards the one-time lookup of the C API in the loaded library.
var capi struct {
	mu   sync.Mutex
	path string // the library the shim initialized from ("" until it did)
}

func initAPI() error {
	path := ort.Loaded()
	if path == "" {
		return ErrNotLoaded
	}
	capi.mu.Lock()
	defer capi.mu.Unlock()
	if capi.path != "" {
		return nil
	}
	cp := C.CString(path)
	defer C.free(unsafe.Pointer(cp))
	if err := cerr(C.ugb_init(cp)); err != nil {
		return fmt.Errorf("iobind: %w", err)
	}
	capi.path = path
	return nil
}

// cerr turns a shim error message into an error and frees it.
func cerr(m *C.char) error {
	if m == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(m))
	return errors.New(C.GoString(m))
}

// CopyMode says how Upload and Download move data between host and device memory.
type CopyMode int

const (
	// CopyAuto is CopyMemcpy on the CPU and CopyIdentity on CUDA.
	CopyAuto CopyMode = iota
	// CopyMemcpy copies with memcpy; the device memory must be host memory (the CPU).
	CopyMemcpy
	// CopyIdentity runs a one-node Identity graph on the device with IoBinding: the host side is
	// bound on one end, the device tensor on the other, so the data transfer of the session's
	// provider moves the data. It works with every provider.
	//
	// OrtApi::CopyTensors (ONNX Runtime 1.23) would be the direct way, but it uses data transfers
	// registered in the environment by plugin execution providers (RegisterExecutionProviderLibrary);
	// with providers appended to session options, as package ort and this package add CUDA, even a
	// CPU to CPU copy fails ("Data transfer implementation between source and destination device
	// was not found", ONNX Runtime 1.30).
	CopyIdentity
)

func (c CopyMode) String() string {
	switch c {
	case CopyAuto:
		return "auto"
	case CopyMemcpy:
		return "memcpy"
	case CopyIdentity:
		return "identity"
	}
	return fmt.Sprintf("CopyMode(%d)", int(c))
}

// Config configures a Memory.
type Config struct {
	// Device is ort.DeviceCPU or ort.DeviceCUDA (required: resolve ort.DeviceAuto first).
	Device ort.Device
	// DeviceID is the GPU ordinal for CUDA (optional). It defaults to 0.
	DeviceID int
	// Threads is the intra-op thread count of every session (optional). It defaults to
	// runtime.NumCPU().
	Threads int
	// Copy selects how data crosses between host and device (optional). It defaults to CopyAuto.
	Copy CopyMode
}

// Transfers counts what crossed between host and device memory through Upload and Download.
type Transfers struct {
	Up, Down int64 // bytes host -> device and device -> host
	Copies   int64 // calls
}

// Bytes returns Up + Down.
func (t Transfers) Bytes() int64 { return t.Up + t.Down }

// Sub returns t - u, what crossed between two readings.
func (t Transfers) Sub(u Transfers) Transfers {
	return Transfers{Up: t.Up - u.Up, Down: t.Down - u.Down, Copies: t.Copies - u.Copies}
}

// Memory is one device's memory as ONNX Runtime sees it (an OrtMemoryInfo and an allocator on it),
// the sessions that run there and the copies in and out of it.
//
// Memory cost: the allocator's arena on the device (ONNX Runtime's), one tiny Identity session per
// element type copied with CopyIdentity.
type Memory struct {
	cfg      Config
	name     string // "Cpu" or "Cuda"
	info     *C.OrtMemoryInfo
	hostInfo *C.OrtMemoryInfo // CPU memory, for host tensors lent to copies
	// alloc comes from a session on the device, so it needs one: the float32 Identity session,
	// which CopyIdentity also uses.
	alloc *C.OrtAllocator
	ident map[ort.DType]*Session
	copy  CopyMode

	up, down, copies atomic.Int64

	tensors  []*Tensor  // made here, in creation order (Close releases the open ones in reverse)
	sessions []*Session // the same
	closed   bool
}

// NewMemory opens the memory of cfg.Device (CPU or CUDA). On CUDA it fails when the loaded ONNX
// Runtime or the machine has no CUDA (the error comes from appending the provider or creating the
// first session).
func NewMemory(cfg Config) (_ *Memory, err error) {
	if err := initAPI(); err != nil {
		return nil, err
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	m := &Memory{cfg: cfg, ident: map[ort.DType]*Session{}, copy: cfg.Copy}
	switch cfg.Device {
	case ort.DeviceCPU:
		m.name = "Cpu"
		if m.copy == CopyAuto {
			m.copy = CopyMemcpy
		}
	case ort.DeviceCUDA:
		m.name = "Cuda"
		if m.copy == CopyAuto {
			m.copy = CopyIdentity
		}
		if m.copy == CopyMemcpy {
			return nil, fmt.Errorf("iobind: memcpy cannot reach CUDA memory")
		}
	default:
		return nil, fmt.Errorf("iobind: device %v (want cpu or cuda)", cfg.Device)
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	name := C.CString(m.name)
	defer C.free(unsafe.Pointer(name))
	var info, hostInfo *C.OrtMemoryInfo
	err = cerr(C.ugb_mem_info(name, C.int(cfg.DeviceID), &info))
	m.info = info
	if err != nil {
		return nil, fmt.Errorf("iobind: memory info %s:%d: %w", m.name, cfg.DeviceID, err)
	}
	cpu := C.CString("Cpu")
	defer C.free(unsafe.Pointer(cpu))
	err = cerr(C.ugb_mem_info(cpu, 0, &hostInfo))
	m.hostInfo = hostInfo
	if err != nil {
		return nil, fmt.Errorf("iobind: memory info Cpu: %w", err)
	}
	s, err := m.identity(ort.Float32)
	if err != nil {
		return nil, err
	}
	var alloc *C.OrtAllocator
	err = cerr(C.ugb_allocator(s.s, m.info, &alloc))
	m.alloc = alloc
	if err != nil {
		return nil, fmt.Errorf("iobind: allocator on %s:%d: %w", m.name, cfg.DeviceID, err)
	}
	return m, nil
}

// Device returns the device of the memory.
func (m *Memory) Device() ort.Device { return m.cfg.Device }

// Copy returns how the memory copies (CopyAuto resolved).
func (m *Memory) Copy() CopyMode { return m.copy }

// Transferred returns what crossed between host and this memory so far.
func (m *Memory) Transferred() Transfers {
	return Transfers{Up: m.up.Load(), Down: m.down.Load(), Copies: m.copies.Load()}
}

func (m *Memory) String() string { return fmt.Sprintf("%s:%d", m.name, m.cfg.DeviceID) }

// identity returns the Identity session for element type t, creating it on first use: input "x",
// output "y", both rank 1 of any length.
func (m *Memory) identity(t ort.DType) (*Session, error) {
	if s := m.ident[t]; s != nil {
		return s, nil
	}
	g := onnx.NewGraph("identity")
	g.Input("x", onnx.DType(t), -1)
	g.Output("y", onnx.DType(t), -1)
	g.Node("Identity", []string{"x"}, []string{"y"})
	data, err := g.Marshal(17)
	if err != nil {
		return nil, fmt.Errorf("iobind: identity graph: %w", err)
	}
	s, err := m.newSession(ort.Model{Data: data}, SessionConfig{}, 1)
	if err != nil {
		return nil, err
	}
	m.ident[t] = s
	return s, nil
}

// Close releases every tensor and session still open (newest first), the allocator and the memory
// info. It is nil-safe and idempotent.
func (m *Memory) Close() error {
	if m == nil || m.closed {
		return nil
	}
	m.closed = true
	var first error
	for i := len(m.tensors) - 1; i >= 0; i-- {
		m.tensors[i].Close()
	}
	for i := len(m.sessions) - 1; i >= 0; i-- {
		if s := m.sessions[i]; !m.isIdentity(s) {
			if err := s.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	m.tensors, m.sessions = nil, nil
	if m.alloc != nil {
		C.ugb_release_allocator(m.alloc)
		m.alloc = nil
	}
	for t, s := range m.ident {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(m.ident, t)
	}
	for _, p := range []**C.OrtMemoryInfo{&m.info, &m.hostInfo} {
		if *p != nil {
			C.ugb_release_mem_info(*p)
			*p = nil
		}
	}
	return first
}

func (m *Memory) isIdentity(s *Session) bool {
	for _, i := range m.ident {
		if i == s {
			return true
		}
	}
	return false
}
