package ort

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// Model names an ONNX model: a file (Path) or its serialized bytes (Data). Set exactly one.
type Model struct {
	Path string
	Data []byte
}

func (m Model) String() string {
	if m.Path != "" {
		return m.Path
	}
	return fmt.Sprintf("<%d-byte model>", len(m.Data))
}

func (m Model) check() error {
	if (m.Path == "") == (len(m.Data) == 0) {
		return fmt.Errorf("onnxruntime: model needs exactly one of Path and Data")
	}
	return nil
}

// IO describes one model input or output.
type IO struct {
	Name  string
	DType DType
	// Shape holds -1 for a dynamic (symbolic) dim.
	Shape []int64
}

// Inspect returns the model's inputs and outputs in model order. It builds a throwaway CPU session,
// so it costs about one session creation; the library must be loaded.
func Inspect(m Model) (inputs, outputs []IO, err error) {
	if err := m.check(); err != nil {
		return nil, nil, err
	}
	if Loaded() == "" {
		return nil, nil, fmt.Errorf("onnxruntime: inspect %v: library not loaded", m)
	}
	var ins, outs []onnxruntime.InputOutputInfo
	if m.Path != "" {
		ins, outs, err = onnxruntime.GetInputOutputInfo(m.Path)
	} else {
		ins, outs, err = onnxruntime.GetInputOutputInfoWithONNXData(m.Data)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("onnxruntime: inspect %v: %w", m, err)
	}
	conv := func(infos []onnxruntime.InputOutputInfo) []IO {
		r := make([]IO, len(infos))
		for i, in := range infos {
			r[i] = IO{Name: in.Name, DType: DType(in.DataType), Shape: append([]int64(nil), in.Dimensions...)}
		}
		return r
	}
	return conv(ins), conv(outs), nil
}

// Config configures a Session.
type Config struct {
	// Device selects the execution provider (optional). It defaults to DeviceAuto.
	Device Device
	// DeviceID is the GPU ordinal for cuda and tensorrt (optional). It defaults to 0.
	DeviceID int
	// Threads is the intra-op thread count (optional). It defaults to runtime.NumCPU().
	Threads int
	// LowMemory turns off the CPU memory arena and weight prepacking (optional): ONNX Runtime
	// then keeps one copy of the weights and returns activations as it frees them, for models
	// whose weights are most of the memory (a 1.6-billion-parameter denoiser in float32).
	LowMemory bool
	// Inputs and Outputs name the model's inputs and outputs in the order Run takes them
	// (optional). They default to all of the model's, in model order (found with Inspect).
	Inputs, Outputs []string
	// TRTCacheDir is where TensorRT keeps built engines (optional). It defaults to no cache, which
	// rebuilds engines for every new session and tile shape.
	TRTCacheDir string
	// Logf receives one-line notices, such as the CPU fallback of DeviceAuto (optional). It defaults
	// to discarding them.
	Logf func(format string, args ...any)
	// OptimizedModelPath is where ONNX Runtime writes the graph it runs, after its optimizations,
	// when the session is created (optional, for tests and diagnosis). It defaults to not writing.
	OptimizedModelPath string
	// ProfilePrefix turns on ONNX Runtime's profiler: a JSON trace of every kernel run, written to
	// <ProfilePrefix>_<date>.json when the session is closed (optional). It defaults to off.
	ProfilePrefix string
}

// Session is one ONNX Runtime inference session with its run options.
//
// It wraps a DynamicAdvancedSession rather than an AdvancedSession: an AdvancedSession binds its
// tensors at creation, so every tile shape would need its own session, i.e. its own copy of the
// weights and its own graph optimization. With the dynamic session one Session per worker serves
// every shape, and the caller keeps one preallocated input/output Tensor pair per shape and passes
// it to Run, so nothing is allocated per frame either.
//
// A Session belongs to one goroutine. It does not own the tensors passed to Run: after the last Run,
// close them and the session in any order.
type Session struct {
	s       *onnxruntime.DynamicAdvancedSession
	ro      *onnxruntime.RunOptions
	inputs  []string
	outputs []string
	device  Device
	ins     []onnxruntime.Value // scratch for Run
	outs    []onnxruntime.Value
}

// NewSession creates a session for model m. The library must be loaded (see Load).
//
// With DeviceAuto it appends the CUDA provider and, if that fails (a CPU-only ONNX Runtime build, no
// driver, no GPU), logs one line through cfg.Logf and builds a CPU session; Device then reports
// DeviceCPU, so callers creating more sessions can pass that on and log once. An explicit DeviceCUDA
// or DeviceTensorRT that cannot be had is an error wrapping ErrDeviceUnavailable.
func NewSession(m Model, cfg Config) (*Session, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if Loaded() == "" {
		return nil, fmt.Errorf("onnxruntime: new session %v: library not loaded", m)
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.NumCPU()
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if len(cfg.Inputs) == 0 || len(cfg.Outputs) == 0 {
		ins, outs, err := Inspect(m)
		if err != nil {
			return nil, err
		}
		if len(cfg.Inputs) == 0 {
			for _, in := range ins {
				cfg.Inputs = append(cfg.Inputs, in.Name)
			}
		}
		if len(cfg.Outputs) == 0 {
			for _, out := range outs {
				cfg.Outputs = append(cfg.Outputs, out.Name)
			}
		}
	}

	dev := cfg.Device
	lib.mu.Lock()
	if dev == DeviceAuto && lib.noCUDA {
		dev = DeviceCPU
	}
	lib.mu.Unlock()
	s, err := newSession(m, cfg, dev)
	if err != nil && dev == DeviceAuto && errors.Is(err, ErrDeviceUnavailable) {
		lib.mu.Lock()
		first := !lib.noCUDA
		lib.noCUDA = true
		lib.mu.Unlock()
		if first {
			cfg.Logf("onnxruntime: CUDA unavailable (%s), running on the CPU (%d threads)", cudaReason(errors.Unwrap(err)), cfg.Threads)
		}
		dev = DeviceCPU
		s, err = newSession(m, cfg, dev)
	}
	if err != nil {
		return nil, err
	}
	if dev == DeviceAuto {
		dev = DeviceCUDA
	}
	s.device = dev
	return s, nil
}

// deviceError marks a failure to set up a GPU provider; it unwraps to the provider's error and
// Is ErrDeviceUnavailable.
type deviceError struct {
	dev Device
	err error
}

func (e *deviceError) Error() string {
	return fmt.Sprintf("%v: %v: %v", ErrDeviceUnavailable, e.dev, e.err)
}
func (e *deviceError) Unwrap() error        { return e.err }
func (e *deviceError) Is(target error) bool { return target == ErrDeviceUnavailable }

func newSession(m Model, cfg Config, dev Device) (_ *Session, err error) {
	opts, err := onnxruntime.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnxruntime: session options: %w", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
		return nil, fmt.Errorf("onnxruntime: intra-op threads: %w", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("onnxruntime: inter-op threads: %w", err)
	}
	if cfg.LowMemory {
		if err := opts.SetCpuMemArena(false); err != nil {
			return nil, fmt.Errorf("onnxruntime: memory arena: %w", err)
		}
		if err := opts.AddSessionConfigEntry("session.disable_prepacking", "1"); err != nil {
			return nil, fmt.Errorf("onnxruntime: prepacking: %w", err)
		}
	}
	if cfg.OptimizedModelPath != "" {
		if err := opts.SetOptimizedModelFilePath(cfg.OptimizedModelPath); err != nil {
			return nil, fmt.Errorf("onnxruntime: optimized model path: %w", err)
		}
	}
	if cfg.ProfilePrefix != "" {
		if err := opts.EnableProfiling(cfg.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("onnxruntime: profiling: %w", err)
		}
	}
	gpu := dev != DeviceCPU
	if gpu {
		// Loading a GPU provider replaces the process's signal handlers; keep Go's (signals.go).
		defer keepSignals(cfg.Logf)()
	}
	if dev == DeviceTensorRT {
		if err := appendTensorRT(opts, cfg); err != nil {
			return nil, &deviceError{dev, err}
		}
	}
	if gpu {
		if err := appendCUDA(opts, cfg); err != nil {
			return nil, &deviceError{devOrCUDA(dev), err}
		}
	}

	var s *onnxruntime.DynamicAdvancedSession
	if m.Path != "" {
		s, err = onnxruntime.NewDynamicAdvancedSession(m.Path, cfg.Inputs, cfg.Outputs, opts)
	} else {
		s, err = onnxruntime.NewDynamicAdvancedSessionWithONNXData(m.Data, cfg.Inputs, cfg.Outputs, opts)
	}
	if err != nil {
		if gpu {
			// With a GPU build but no usable GPU, appending succeeds and creation fails.
			return nil, &deviceError{devOrCUDA(dev), err}
		}
		return nil, fmt.Errorf("onnxruntime: new session %v: %w", m, err)
	}
	ro, err := onnxruntime.NewRunOptions()
	if err != nil {
		s.Destroy()
		return nil, fmt.Errorf("onnxruntime: run options: %w", err)
	}
	return &Session{
		s: s, ro: ro,
		inputs: append([]string(nil), cfg.Inputs...), outputs: append([]string(nil), cfg.Outputs...),
		ins: make([]onnxruntime.Value, len(cfg.Inputs)), outs: make([]onnxruntime.Value, len(cfg.Outputs)),
	}, nil
}

// shortError drops the source location and status prefix ONNX Runtime puts before its messages
// ("/onnxruntime_src/...cc:1988 ... [ONNXRuntimeError] : 1 : FAIL : "), for one-line notices.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "FAIL : "); i >= 0 {
		return msg[i+len("FAIL : "):]
	}
	return msg
}

// cudaReason says in a few words why CUDA could not be used.
func cudaReason(err error) string {
	var me *MissingError
	if errors.As(err, &me) {
		return me.Reason
	}
	msg := shortError(err)
	if strings.Contains(msg, "providers_shared") || strings.Contains(msg, "not enabled in this build") {
		return "this ONNX Runtime build has no CUDA provider"
	}
	return msg
}

func devOrCUDA(d Device) Device {
	if d == DeviceAuto {
		return DeviceCUDA
	}
	return d
}

// appendCUDA checks what the CUDA provider needs (deviceReady: driver, device, provider and CUDA
// libraries, these loaded by absolute path) and appends the provider.
func appendCUDA(opts *onnxruntime.SessionOptions, cfg Config) error {
	if err := deviceReady(DeviceCUDA, cfg.DeviceID); err != nil {
		return err
	}
	co, err := onnxruntime.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	if err := co.Update(map[string]string{
		"device_id": strconv.Itoa(cfg.DeviceID),
		// Tile shapes are few and repeat: search conv algorithms once per shape.
		"cudnn_conv_algo_search": "EXHAUSTIVE",
	}); err != nil {
		return err
	}
	return opts.AppendExecutionProviderCUDA(co)
}

// appendTensorRT checks what the TensorRT provider needs (see appendCUDA) and appends the provider.
func appendTensorRT(opts *onnxruntime.SessionOptions, cfg Config) error {
	if err := deviceReady(DeviceTensorRT, cfg.DeviceID); err != nil {
		return err
	}
	to, err := onnxruntime.NewTensorRTProviderOptions()
	if err != nil {
		return err
	}
	defer to.Destroy()
	o := map[string]string{"device_id": strconv.Itoa(cfg.DeviceID)}
	if cfg.TRTCacheDir != "" {
		o["trt_engine_cache_enable"] = "1"
		o["trt_engine_cache_path"] = cfg.TRTCacheDir
	}
	if err := to.Update(o); err != nil {
		return err
	}
	return opts.AppendExecutionProviderTensorRT(to)
}

// Device returns the provider the session actually runs on: DeviceCPU, DeviceCUDA or
// DeviceTensorRT (never DeviceAuto).
func (s *Session) Device() Device { return s.device }

// Inputs returns the input names in Run's order.
func (s *Session) Inputs() []string { return append([]string(nil), s.inputs...) }

// Outputs returns the output names in Run's order.
func (s *Session) Outputs() []string { return append([]string(nil), s.outputs...) }

// Run runs the model on inputs, writing outputs in place; both are in the order of Inputs and
// Outputs and every output must already have the shape the model will produce. If ctx ends during
// the run, ONNX Runtime is told to terminate it and Run returns ctx.Err().
func (s *Session) Run(ctx context.Context, inputs, outputs []*Tensor) error {
	if s == nil || s.s == nil {
		return fmt.Errorf("onnxruntime: run: session is closed")
	}
	if len(inputs) != len(s.inputs) || len(outputs) != len(s.outputs) {
		return fmt.Errorf("onnxruntime: run: got %d inputs and %d outputs, model takes %d and %d",
			len(inputs), len(outputs), len(s.inputs), len(s.outputs))
	}
	for i, t := range inputs {
		if t == nil || t.v == nil {
			return fmt.Errorf("onnxruntime: run: input %q is nil or closed", s.inputs[i])
		}
		s.ins[i] = t.v
	}
	for i, t := range outputs {
		if t == nil || t.v == nil {
			return fmt.Errorf("onnxruntime: run: output %q is nil or closed", s.outputs[i])
		}
		s.outs[i] = t.v
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		s.ro.Terminate()
		close(fired)
	})
	err := s.s.RunWithOptions(s.ins, s.outs, s.ro)
	if !stop() {
		<-fired
		s.ro.UnsetTerminate()
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("onnxruntime: run: %w", err)
	}
	return nil
}

// OutputShapes runs the model once on inputs with outputs that ONNX Runtime allocates, and returns
// their shapes; the outputs themselves are discarded. It is for probing a model (its scale, its
// output layout) before preallocating, not for per-frame use: it allocates and copies every output.
func (s *Session) OutputShapes(ctx context.Context, inputs []*Tensor) ([][]int64, error) {
	if s == nil || s.s == nil {
		return nil, fmt.Errorf("onnxruntime: probe: session is closed")
	}
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("onnxruntime: probe: got %d inputs, model takes %d", len(inputs), len(s.inputs))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ins := make([]onnxruntime.Value, len(inputs))
	for i, t := range inputs {
		if t == nil || t.v == nil {
			return nil, fmt.Errorf("onnxruntime: probe: input %q is nil or closed", s.inputs[i])
		}
		ins[i] = t.v
	}
	outs := make([]onnxruntime.Value, len(s.outputs))
	err := s.s.Run(ins, outs)
	shapes := make([][]int64, len(outs))
	for i, v := range outs {
		if v != nil {
			shapes[i] = append([]int64(nil), v.GetShape()...)
			v.Destroy()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("onnxruntime: probe: %w", err)
	}
	return shapes, nil
}

// Close destroys the session. It is nil-safe and idempotent; tensors passed to Run are the caller's
// to close.
func (s *Session) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	err := s.s.Destroy()
	if e := s.ro.Destroy(); err == nil {
		err = e
	}
	s.s, s.ro = nil, nil
	return err
}
