// Package realesrgan is the Real-ESRGAN backend: upscayl's ncnn models converted to ONNX, or a
// foreign single-input NCHW .onnx model, run tile by tile through ONNX Runtime exactly the way
// realesrgan-ncnn-vulkan does.
//
// Processing (realesrgan-ncnn-vulkan's realesrgan.cpp and its pre/postproc shaders): the input is cut
// into Tile x Tile tiles (the last row and column smaller); each tile is read with Prepadding extra
// pixels on every side, which come from the neighbouring tiles inside the image and from mirror
// reflection (edge pixel not repeated) outside it; the net sees x/255 (our frames already hold
// 8-bit values as [0,1] floats), its output becomes v*255+0.5 truncated and clamped to 0..255, and
// the padding is cropped away. Output samples are therefore quantized to k/255. When the requested
// output size is not the model's native scale, the native result is resampled to it with
// antialiased Lanczos-3 (package sr/resample), or, with ResizeGraph (the GPU default), inside the
// model run with ONNX Resize's antialiased bicubic.
//
// On a GPU the defaults change (see DefaultPrecision, DefaultResize, AutoTile, GPUBatch): the
// converter's fp16 model, whole frames (or large tiles) batched, and the resize in the graph.
package realesrgan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// Names of the converted upscayl models.
const (
	// X4Fast is realesr-general-x4v3-style SRVGGNetCompact (64 channels, 32 convs, PReLU): the
	// default, fast enough for a CPU.
	X4Fast = "realesrgan-x4fast"
	// X4Plus is RealESRGAN_x4plus (RRDBNet, 23 blocks): about 15x the compute of X4Fast.
	X4Plus = "realesrgan-x4plus"
)

// Values of Options.Precision.
const (
	// PrecisionAuto picks DefaultPrecision of the device the first session runs on; Options.Init
	// turns it into "".
	PrecisionAuto = "auto"
	// PrecisionFP32 runs the model with weights, activations and arithmetic in float32.
	PrecisionFP32 = "fp32"
	// PrecisionFP16 runs the converter's float16 model (sr/ncnn Options.FP16): weights, biases,
	// slopes and activations in float16, the graph's input and output float32, so the tiles fed
	// and read are the same. Only for the converted ncnn models, not for a foreign .onnx.
	PrecisionFP16 = "fp16"
	// PrecisionInt8 runs X4Fast quantized (sr/ncnn ConvertInt8, with the committed calibration of
	// calibrate.go): int8 weights and uint8 activations in ONNX Runtime's integer convolutions, on
	// the CPU only. Input frames are quantized to 8 bits (exact for 8-bit video). X4Plus has no
	// calibration, and a foreign .onnx runs as it is.
	PrecisionInt8 = "int8"
)

// int8PassesGates records whether X4Fast's int8 model passed the quality gates against fp32
// (TestInt8Quality); DefaultPrecision picks int8 only if it did.
const int8PassesGates = false

// DefaultPrecision is the precision an unset Options.Precision takes for the named converted model
// on device d, on a CPU with or without VNNI (ort.CPUHasVNNI):
//   - PrecisionFP16 on CUDA and TensorRT, whose GPUs run float16 convolutions on tensor cores and
//     move half the bytes;
//   - PrecisionInt8 for X4Fast on a CPU with VNNI, where integer convolutions run at several times
//     the float rate, if the int8 model passed the quality gates;
//   - PrecisionFP32 otherwise. On the CPU, ONNX Runtime (1.30, x86) has no float16 Conv kernel: it
//     casts an fp16 model's weights to float32, so fp16 is no faster there (x4plus is about twice
//     as slow) and only less exact; without VNNI int8 gains little.
//
// A foreign .onnx model always runs in its own precision (fp32).
func DefaultPrecision(d ort.Device, model string, vnni bool) string {
	switch {
	case onGPU(d):
		return PrecisionFP16
	case model == X4Fast && vnni && int8PassesGates:
		return PrecisionInt8
	}
	return PrecisionFP32
}

// Prepadding is the number of LR pixels of context read around every tile, as in
// realesrgan-ncnn-vulkan.
const Prepadding = 10

// Working-memory budgets of one model run, for AutoTile, and the default batch on a GPU. The GPU
// figures are not measured (no GPU was at hand): GPUBudget is meant to fit a 16 GB card beside
// ONNX Runtime's arena and cuDNN's workspace, GPUBatch to keep it busy with small frames.
const (
	CPUBudget = 1 << 30
	GPUBudget = 8 << 30
	GPUBatch  = 4
)

// Model file layout under the cache directory.
const (
	// EnvModelsDir overrides ModelsDir.
	EnvModelsDir = "UGCSR_MODELS_DIR"
	// upscaylModels is where setup unpacks upscayl's ncnn models, relative to the cache dir.
	upscaylModels = "upscayl/package/dist/upscaler/sub-classes/model-manager/models"
)

// ErrModelNotFound is returned by Open and Convert when the ncnn files of a named model (or a
// foreign .onnx file) do not exist. Run scripts/setup.sh or set $UGCSR_MODELS_DIR.
var ErrModelNotFound = errors.New("realesrgan: model not found")

// ErrBadModel is returned by Open for a foreign .onnx model that is not one float32 NCHW RGB input
// and output with dynamic height and width and an integer scale.
var ErrBadModel = errors.New("realesrgan: unsupported model")

// IsModel reports whether Open handles model: a known name or a path ending in .onnx.
func IsModel(model string) bool {
	return model == X4Fast || model == X4Plus || strings.HasSuffix(strings.ToLower(model), ".onnx")
}

// Options are the Real-ESRGAN backend's own settings (the runtime's are ort.Runtime). Zero values
// pick the documented defaults.
type Options struct {
	// Tile is the tile size in input pixels, before Prepadding (optional). It defaults to 0, which
	// picks the largest tile whose working memory fits the device's budget (see AutoTile): near
	// 1 GiB on the CPU, whole frames up to a few megapixels on a GPU.
	Tile int
	// Batch is the most tiles of one shape a model run takes (optional). It defaults to 1 on the
	// CPU, where one tile keeps every core busy, and to GPUBatch on CUDA and TensorRT. When a frame
	// is fewer tiles than Batch, the upscaler asks for several frames per call (BatchSize). A
	// foreign model whose batch dimension is fixed runs one tile at a time whatever Batch says.
	Batch int
	// ModelScale is the native scale of a foreign model (optional). It defaults to 0, which infers
	// it with a probe run on a 32x32 input.
	ModelScale int
	// Precision is the arithmetic the model runs in: PrecisionAuto, PrecisionFP32, PrecisionFP16 or
	// PrecisionInt8 (optional). It defaults to DefaultPrecision of the device the first session runs
	// on: with DeviceAuto, Open creates that session with the fp32 model and replaces it should the
	// default be another precision. Tests that compare with references set it explicitly, so that
	// the device cannot change what they compare. PrecisionInt8 with DeviceAuto runs on the CPU.
	Precision string
	// Resize says where a result that is not at the model's scale is resampled to the requested
	// size, ResizeGo or ResizeGraph (optional). It defaults to DefaultResize of the device the
	// first session runs on. A foreign model always uses ResizeGo.
	Resize string
}

// Init validates. It leaves Precision empty when unset: the default depends on the device (see
// DefaultPrecision), which Open settles.
func (o *Options) Init() error {
	switch o.Precision {
	case PrecisionAuto:
		o.Precision = ""
	case "", PrecisionFP32, PrecisionFP16, PrecisionInt8:
	default:
		return fmt.Errorf("realesrgan: precision %q: want %s, %s, %s or %s", o.Precision, PrecisionAuto, PrecisionFP32, PrecisionFP16, PrecisionInt8)
	}
	switch o.Resize {
	case "", ResizeGo, ResizeGraph:
	default:
		return fmt.Errorf("realesrgan: resize %q: want %q or %q", o.Resize, ResizeGo, ResizeGraph)
	}
	if o.Tile < 0 || o.ModelScale < 0 || o.Batch < 0 {
		return fmt.Errorf("realesrgan: negative tile (%d), model scale (%d) or batch (%d)", o.Tile, o.ModelScale, o.Batch)
	}
	return nil
}

// Config configures Open.
type Config struct {
	// Model is X4Fast, X4Plus or the path of a foreign .onnx model.
	Model string
	Options
	ort.Runtime
	// Logf receives one-line notices such as a device fallback (optional). It defaults to discarding.
	Logf func(format string, args ...any)
}

// Backend is an opened Real-ESRGAN model. It implements sr.Backend and sr.Counter and is safe for
// concurrent use; each Upscaler it makes owns one ONNX Runtime session (so one copy of the weights
// in the runtime) plus one input/output tensor pair per tile shape.
type Backend struct {
	name          string
	model         ort.Model
	input, output string
	scale         int
	pxCost        int // working bytes per padded input pixel, for AutoTile
	cfg           Config
	device        ort.Device // what sessions actually run on
	precision     string     // PrecisionFP32 or PrecisionFP16, never ""
	batch         int        // tiles per run, >= 1
	resize        string     // ResizeGo or ResizeGraph, never ""
	resizeModel   ort.Model  // the model with graphResize appended, for ResizeGraph
	fixedBatch    bool       // a foreign model whose batch dimension is not dynamic

	mu    sync.Mutex
	spare *ort.Session // the session Open created, handed to the first NewUpscaler

	tiles atomic.Int64 // model runs, for Counters
}

var (
	_ sr.Backend = (*Backend)(nil)
	_ sr.Counter = (*Backend)(nil)
)

// Open loads ONNX Runtime (once per process), prepares the model (converting the ncnn files to
// ConvertedPath on first use) and creates the first session, which settles the device: with
// ort.DeviceAuto and no CUDA it logs one line and uses the CPU. An unset Precision then follows
// the device (DefaultPrecision).
func Open(cfg Config) (*Backend, error) {
	cfg.Runtime.Init()
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := cfg.Options.Init(); err != nil {
		return nil, err
	}
	if !IsModel(cfg.Model) {
		return nil, fmt.Errorf("realesrgan: %w %q", sr.ErrUnknownModel, cfg.Model)
	}
	if cfg.Precision == PrecisionInt8 {
		switch {
		case cfg.Model != X4Fast:
			return nil, fmt.Errorf("realesrgan: precision %s: only for %s (%s has no int8 calibration)", PrecisionInt8, X4Fast, cfg.Model)
		case cfg.Device == ort.DeviceAuto:
			cfg.Device = ort.DeviceCPU
		case cfg.Device != ort.DeviceCPU:
			return nil, fmt.Errorf("realesrgan: precision %s runs on the CPU, not %v", PrecisionInt8, cfg.Device)
		}
		if cfg.Resize == ResizeGraph {
			return nil, fmt.Errorf("realesrgan: resize %q: not with precision %s (resize in Go)", ResizeGraph, PrecisionInt8)
		}
	}
	if cfg.Device == ort.DeviceTensorRT {
		if err := os.MkdirAll(filepath.Join(cfg.CacheDir, "trt"), 0o755); err != nil {
			return nil, fmt.Errorf("realesrgan: tensorrt engine cache: %w", err)
		}
	}
	if err := cfg.Runtime.Load(); err != nil {
		return nil, err
	}

	b := &Backend{cfg: cfg, precision: cfg.Precision}
	if b.precision == "" && cfg.Device != ort.DeviceAuto {
		b.precision = DefaultPrecision(cfg.Device, cfg.Model, ort.CPUHasVNNI())
	}
	named := cfg.Model == X4Fast || cfg.Model == X4Plus
	if named {
		// The converter's contract: input "input" [N,3,H,W], output "output" [N,3,4H,4W].
		b.name, b.input, b.output, b.scale = cfg.Model, "input", "output", 4
		b.pxCost = 1 << 10 // a few live 64-channel fp32 activations at input resolution
		if cfg.Model == X4Plus {
			b.pxCost = 12 << 10 // three 64-channel activations at 4x resolution dominate
		}
		if err := b.convert(cmp.Or(b.precision, PrecisionFP32)); err != nil {
			return nil, err
		}
	} else {
		if b.precision == PrecisionFP16 {
			return nil, fmt.Errorf("realesrgan: precision %q: only for the converted models %s and %s, not a foreign .onnx", PrecisionFP16, X4Fast, X4Plus)
		}
		if cfg.Resize == ResizeGraph {
			return nil, fmt.Errorf("realesrgan: resize %q: only for the converted models %s and %s, not a foreign .onnx", ResizeGraph, X4Fast, X4Plus)
		}
		b.precision = PrecisionFP32
		if err := b.openForeign(cfg.Model); err != nil {
			return nil, err
		}
	}

	s, err := ort.NewSession(b.model, b.sessionConfig(cfg.Device))
	if err != nil {
		return nil, fmt.Errorf("realesrgan: %s: %w", b.name, err)
	}
	b.device = s.Device()
	if b.precision == "" { // DeviceAuto: the fp32 session told the device
		b.precision = DefaultPrecision(b.device, cfg.Model, ort.CPUHasVNNI())
		if b.precision != PrecisionFP32 {
			s.Close()
			if err := b.convert(b.precision); err != nil {
				return nil, err
			}
			if s, err = ort.NewSession(b.model, b.sessionConfig(b.device)); err != nil {
				return nil, fmt.Errorf("realesrgan: %s: %w", b.name, err)
			}
		}
	}
	if b.scale == 0 {
		if b.scale, err = probeScale(s); err != nil {
			s.Close()
			return nil, fmt.Errorf("%w: %s: %v (pass a model scale to skip the probe)", ErrBadModel, b.name, err)
		}
	}
	b.resize = cmp.Or(cfg.Resize, DefaultResize(b.device))
	if !named {
		b.resize = ResizeGo
	}
	if b.resize == ResizeGraph {
		path, err := convert(b.name, b.precision, true, cfg.CacheDir)
		if err != nil {
			s.Close()
			return nil, err
		}
		b.resizeModel = ort.Model{Path: path}
	}
	b.batch = b.cfg.Batch
	switch {
	case b.fixedBatch:
		b.batch = 1
	case b.batch == 0 && onGPU(b.device):
		b.batch = GPUBatch
	case b.batch == 0:
		b.batch = 1
	}
	if b.pxCost == 0 {
		// Unknown architecture: assume x4plus-like, three 64-channel activations at output size.
		b.pxCost = b.scale * b.scale * 64 * 4 * 3
	}
	b.spare = s
	return b, nil
}

// convert points b.model at the named model's conversion in precision, converting on first use.
func (b *Backend) convert(precision string) error {
	path, err := Convert(b.name, precision, b.cfg.CacheDir)
	if err != nil {
		return err
	}
	b.model = ort.Model{Path: path}
	return nil
}

// openForeign checks a foreign .onnx model's inputs and outputs.
func (b *Backend) openForeign(path string) error {
	if st, err := os.Stat(path); err != nil || st.IsDir() {
		return fmt.Errorf("%w: %s: not a file", ErrModelNotFound, path)
	}
	b.name, b.model = filepath.Base(path), ort.Model{Path: path}
	ins, outs, err := ort.Inspect(b.model)
	if err != nil {
		return fmt.Errorf("realesrgan: %s: %w", b.name, err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return fmt.Errorf("%w: %s has %d inputs and %d outputs, want 1 and 1", ErrBadModel, b.name, len(ins), len(outs))
	}
	for _, io := range []ort.IO{ins[0], outs[0]} {
		if io.DType != ort.Float32 || len(io.Shape) != 4 || (io.Shape[1] != 3 && io.Shape[1] >= 0) {
			return fmt.Errorf("%w: %s: %s is %v%v, want float32 [N,3,H,W]", ErrBadModel, b.name, io.Name, io.DType, io.Shape)
		}
	}
	if in := ins[0].Shape; in[2] > 0 || in[3] > 0 {
		return fmt.Errorf("%w: %s: input %q has a fixed size %v; tiling needs dynamic height and width", ErrBadModel, b.name, ins[0].Name, in)
	}
	b.input, b.output = ins[0].Name, outs[0].Name
	b.fixedBatch = ins[0].Shape[0] >= 0 || outs[0].Shape[0] >= 0
	b.scale = b.cfg.ModelScale
	return nil
}

// probeSize is the side of the probe input used to infer a foreign model's scale.
const probeSize = 32

func probeScale(s *ort.Session) (int, error) {
	in, err := ort.NewTensor(ort.Float32, 1, 3, probeSize, probeSize)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	for i := range in.Float32() {
		in.Float32()[i] = 0.5
	}
	shapes, err := s.OutputShapes(context.Background(), []*ort.Tensor{in})
	if err != nil {
		return 0, fmt.Errorf("probe run: %w", err)
	}
	out := shapes[0]
	if len(out) != 4 || out[1] != 3 || out[2]%probeSize != 0 || out[2] != out[3] || out[2] == 0 {
		return 0, fmt.Errorf("probe: %dx%d input gave output %v, want [1,3,%d*s,%d*s]", probeSize, probeSize, out, probeSize, probeSize)
	}
	return int(out[2] / probeSize), nil
}

func (b *Backend) sessionConfig(d ort.Device) ort.Config {
	c := ort.Config{
		Device:  d,
		Threads: b.cfg.Threads,
		Inputs:  []string{b.input},
		Outputs: []string{b.output},
		Logf:    b.cfg.Logf,
	}
	if d == ort.DeviceTensorRT {
		c.TRTCacheDir = filepath.Join(b.cfg.CacheDir, "trt")
	}
	return c
}

// Name implements sr.Backend: the model name, or a foreign model's file name.
func (b *Backend) Name() string { return b.name }

// Caps implements sr.Backend: one worker (its session uses every core); tiles are fine, so tile
// reuse applies.
func (b *Backend) Caps() sr.Caps { return sr.Caps{} }

// Scale returns the model's native scale.
func (b *Backend) Scale() int { return b.scale }

// Device returns the execution provider the sessions run on (never ort.DeviceAuto).
func (b *Backend) Device() ort.Device { return b.device }

// Precision returns the precision the model runs in: PrecisionFP32, PrecisionFP16 or PrecisionInt8.
func (b *Backend) Precision() string { return b.precision }

// Resize returns where results not at the model's scale are resampled: ResizeGo or ResizeGraph.
func (b *Backend) Resize() string { return b.resize }

// Counters implements sr.Counter: "tiles" counts tiles run so far, over all upscalers (a batched
// run counts each of its tiles).
func (b *Backend) Counters(visit func(key string, value int64)) {
	visit("tiles", b.tiles.Load())
}

// Batch returns the most tiles of one shape a model run takes.
func (b *Backend) Batch() int { return b.batch }

// onGPU reports whether d is a GPU provider.
func onGPU(d ort.Device) bool { return d == ort.DeviceCUDA || d == ort.DeviceTensorRT }

// AutoTile returns the tile size Tile 0 picks for an input of size in: the largest tile such that
// a run of Batch padded tiles keeps the model's working memory within the device's budget
// (CPUBudget, tiles capped at 1024; GPUBudget, uncapped, with fp16 activations half the size of
// fp32 ones), then evened out so the tiles of each row and column have about the same size. An
// input that fits one tile gets one tile.
func (b *Backend) AutoTile(in image.Point) int {
	budget, limit, cost := CPUBudget, 1024, b.pxCost
	if onGPU(b.device) {
		budget, limit = GPUBudget, 1<<14
		if b.precision == PrecisionFP16 {
			cost /= 2
		}
	}
	budget /= max(b.batch, 1)
	side := 32
	for side < limit && (side+16+2*Prepadding)*(side+16+2*Prepadding)*cost <= budget {
		side += 16
	}
	nx := (in.X + side - 1) / side
	ny := (in.Y + side - 1) / side
	return max((in.X+nx-1)/nx, (in.Y+ny-1)/ny, 1)
}

// NewUpscaler implements sr.Backend. It takes the session Open made (or creates one), and
// allocates the tile tensors and, if spec.Out is not scale*spec.In, the native-size frames and
// resampler: about 4*3*(1+scale²) bytes per padded tile pixel for each tile a run takes (up to
// Batch) of each distinct tile shape (at most four), plus 12*scale² bytes per input pixel for each
// frame of a call (BatchSize) when resampling.
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	return b.newUpscaler(spec, b.cfg.Tile)
}

func (b *Backend) newUpscaler(spec sr.Spec, tile int) (*upscaler, error) {
	if spec.In.X <= 0 || spec.In.Y <= 0 || spec.Out.X <= 0 || spec.Out.Y <= 0 {
		return nil, fmt.Errorf("realesrgan: bad spec %v -> %v", spec.In, spec.Out)
	}
	if tile <= 0 {
		tile = b.AutoTile(spec.In)
	}
	graph := b.resize == ResizeGraph && spec.Out != spec.In.Mul(b.scale)
	if graph && tile < max(spec.In.X, spec.In.Y) {
		b.cfg.Logf("realesrgan: %v in %d-pixel tiles: resizing to %v in Go, not in the model run (that needs whole frames)", spec.In, tile, spec.Out)
		graph = false
	}
	var s *ort.Session
	if graph {
		c := b.sessionConfig(b.device)
		c.Inputs = append(c.Inputs, SizeName)
		var err error
		if s, err = ort.NewSession(b.resizeModel, c); err != nil {
			return nil, fmt.Errorf("realesrgan: %s: %w", b.name, err)
		}
	} else {
		b.mu.Lock()
		s = b.spare
		b.spare = nil
		b.mu.Unlock()
	}
	if s == nil {
		var err error
		if s, err = ort.NewSession(b.model, b.sessionConfig(b.device)); err != nil {
			return nil, fmt.Errorf("realesrgan: %s: %w", b.name, err)
		}
	}
	u, err := newUpscaler(b, s, spec, tile, b.batch, graph)
	if err != nil {
		s.Close()
		return nil, err
	}
	return u, nil
}

// Close implements sr.Backend: it closes the unused first session, if any. Upscalers must be closed
// first. It is idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	s := b.spare
	b.spare = nil
	b.mu.Unlock()
	return s.Close()
}
