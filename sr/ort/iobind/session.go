package iobind

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// SessionConfig configures a Session.
type SessionConfig struct {
	// Profile turns on ONNX Runtime's profiling (optional): the profile is written to a JSON file
	// whose name starts with Profile when EndProfiling is called. It defaults to no profiling.
	Profile string
}

// Session is an ONNX Runtime session on a Memory's device with one IoBinding: inputs and outputs
// are bound to tensors of that memory, and Run runs the model on them without copying anything
// between host and device (ONNX Runtime may still copy inside the graph, for nodes its provider
// does not run: the profile shows them, see ReadProfile).
//
// On CUDA the session gets the CUDA provider with the options package ort gives it (device_id,
// exhaustive cuDNN algorithm search); nodes CUDA lacks fall back to the CPU provider.
type Session struct {
	m     *Memory
	s     *C.OrtSession
	b     *C.OrtIoBinding
	ro    *C.OrtRunOptions
	names map[string]*C.char
	what  string
}

// NewSession creates a session of model on the memory's device.
func (m *Memory) NewSession(model ort.Model, cfg SessionConfig) (*Session, error) {
	if m.closed {
		return nil, fmt.Errorf("iobind: new session: memory is closed")
	}
	return m.newSession(model, cfg, m.cfg.Threads)
}

func (m *Memory) newSession(model ort.Model, cfg SessionConfig, threads int) (_ *Session, err error) {
	if (model.Path == "") == (len(model.Data) == 0) {
		return nil, fmt.Errorf("iobind: model needs exactly one of Path and Data")
	}
	s := &Session{m: m, names: map[string]*C.char{}, what: model.String()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	var path, prof *C.char
	if model.Path != "" {
		path = C.CString(model.Path)
		defer C.free(unsafe.Pointer(path))
	}
	if cfg.Profile != "" {
		prof = C.CString(cfg.Profile)
		defer C.free(unsafe.Pointer(prof))
	}
	cuda := C.int(-1)
	if m.cfg.Device == ort.DeviceCUDA {
		cuda = C.int(m.cfg.DeviceID)
	}
	var data unsafe.Pointer
	if len(model.Data) > 0 {
		data = unsafe.Pointer(&model.Data[0]) // read during the call only
	}
	var cs *C.OrtSession
	var cb *C.OrtIoBinding
	var ro *C.OrtRunOptions
	err = cerr(C.ugb_session(path, data, C.size_t(len(model.Data)), C.int(threads), cuda, prof, &cs))
	s.s = cs
	if err != nil {
		return nil, fmt.Errorf("iobind: new session %v on %v: %w", model, m, err)
	}
	err = cerr(C.ugb_binding(s.s, &cb))
	s.b = cb
	if err != nil {
		return nil, fmt.Errorf("iobind: io binding: %w", err)
	}
	err = cerr(C.ugb_run_options(&ro))
	s.ro = ro
	if err != nil {
		return nil, fmt.Errorf("iobind: run options: %w", err)
	}
	m.sessions = append(m.sessions, s)
	return s, nil
}

func (s *Session) cname(name string) *C.char {
	c, ok := s.names[name]
	if !ok {
		c = C.CString(name)
		s.names[name] = c
	}
	return c
}

func (s *Session) bind(name string, t *Tensor, output bool) error {
	what := map[bool]string{false: "input", true: "output"}[output]
	switch {
	case s == nil || s.s == nil:
		return fmt.Errorf("iobind: bind %s %q: session is closed", what, name)
	case t == nil || t.v == nil:
		return fmt.Errorf("iobind: bind %s %q: tensor is nil or closed", what, name)
	case t.m != s.m:
		return fmt.Errorf("iobind: bind %s %q: tensor of %v, session on %v", what, name, t.m, s.m)
	}
	out := C.int(0)
	if output {
		out = 1
	}
	if err := cerr(C.ugb_bind(s.b, s.cname(name), t.v, out)); err != nil {
		return fmt.Errorf("iobind: bind %s %q to %v: %w", what, name, t, err)
	}
	return nil
}

// BindInput binds input name to t until it is bound again. t must be of the session's memory.
func (s *Session) BindInput(name string, t *Tensor) error { return s.bind(name, t, false) }

// BindOutput binds output name to t, which must have the shape the model will produce: Run writes
// it in place.
func (s *Session) BindOutput(name string, t *Tensor) error { return s.bind(name, t, true) }

// Run runs the model on the bound tensors (OrtApi::RunWithBinding) and waits for the outputs
// (SynchronizeBoundOutputs). If ctx ends during the run, ONNX Runtime is told to terminate it and
// Run returns ctx.Err().
func (s *Session) Run(ctx context.Context) error {
	if s == nil || s.s == nil {
		return fmt.Errorf("iobind: run: session is closed")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		C.ugb_terminate(s.ro, 1)
		close(fired)
	})
	err := cerr(C.ugb_run(s.s, s.ro, s.b))
	if !stop() {
		<-fired
		C.ugb_terminate(s.ro, 0)
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("iobind: run %v: %w", s.what, err)
	}
	return nil
}

// EndProfiling ends the session's profiling and returns the path of the JSON file written
// (SessionConfig.Profile must have been set).
func (s *Session) EndProfiling() (string, error) {
	if s == nil || s.s == nil {
		return "", fmt.Errorf("iobind: end profiling: session is closed")
	}
	var p *C.char
	err := cerr(C.ugb_end_profiling(s.s, &p))
	if p != nil {
		defer C.free(unsafe.Pointer(p))
	}
	if err != nil {
		return "", fmt.Errorf("iobind: end profiling: %w", err)
	}
	return C.GoString(p), nil
}

// Close releases the binding, the run options and the session. It is nil-safe and idempotent;
// tensors bound to it stay open.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	if s.b != nil {
		C.ugb_release_binding(s.b)
		s.b = nil
	}
	if s.ro != nil {
		C.ugb_release_run_options(s.ro)
		s.ro = nil
	}
	if s.s != nil {
		C.ugb_release_session(s.s)
		s.s = nil
	}
	for k, c := range s.names {
		C.free(unsafe.Pointer(c))
		delete(s.names, k)
	}
	return nil
}
