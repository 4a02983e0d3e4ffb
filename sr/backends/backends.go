// Package backends opens an sr.Backend from a --model value. It is the one place that knows every
// backend, so the CLI and library users select models the same way.
package backends

import (
	"fmt"
	"github.com/ugcsr/ugcsr/temporal"
	"runtime"
	"strings"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/classical"
)

// Default is the model used when none is named: the embedded Real-ESRGAN that runs on a CPU.
const Default = "realesrgan-x4fast"

// Options configures whichever backend is opened. Fields that do not apply to it are ignored.
type Options struct {
	// Device is auto, cpu, cuda or tensorrt (optional). It defaults to auto.
	Device string
	// ORTLib is the path of libonnxruntime.so (optional). It defaults to $UGCSR_ORT_LIB, then the
	// copy setup caches under ~/.cache/ugcsr.
	ORTLib string
	// Threads is ONNX Runtime's intra-op thread count (optional). It defaults to the number of cores.
	Threads int
	// Tile is the model tile size in input pixels; 0 picks one automatically (optional).
	Tile int
	// Precision is the arithmetic of the Real-ESRGAN models (optional); see realesrgan.Config.
	Precision string
	// ModelScale is the native scale of a foreign .onnx model; 0 infers it by a probe run (optional).
	ModelScale int
	// CacheDir is where converted models live (optional). It defaults to ~/.cache/ugcsr.
	CacheDir string

	// Diffusion settings (optional); see package sr/diffusion for their defaults.
	Preset     string
	Steps      int
	Guidance   float64
	Sampler    string
	StartPoint string
	Seed       int64
	Prompt     string
	ColorFix   string
	SAMRefresh int
	Noise      string
	ReuseTiles float64
	// Segments groups frames that share per-scene constants (optional); the pipeline passes its
	// temporal.Detector. It defaults to segments of SAMRefresh frames within a scene.
	Segments temporal.Segmenter

	// Logf receives one-line notices such as a device fallback (optional). It defaults to discarding.
	Logf func(format string, args ...any)
}

// Finalize fills defaults.
func (o *Options) Finalize() {
	if o.Device == "" {
		o.Device = "auto"
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Open returns the backend named by model:
//   - lanczos, bicubic: classical resamplers;
//   - realesrgan-x4fast, realesrgan-x4plus: the converted Real-ESRGAN models (ONNX Runtime);
//   - PATH.onnx: a foreign single-input NCHW model;
//   - diffusion:DIR: a SeeSR+SAM2 bundle.
func Open(model string, o Options) (sr.Backend, error) {
	o.Finalize()
	switch {
	case model == "lanczos" || model == "bicubic":
		return classical.New(model)
	}
	for _, open := range openers {
		b, ok, err := open(model, o)
		if ok || err != nil {
			return b, err
		}
	}
	return nil, fmt.Errorf("%w %q (want lanczos, bicubic, realesrgan-x4fast, realesrgan-x4plus, PATH.onnx or diffusion:DIR)",
		sr.ErrUnknownModel, strings.TrimSpace(model))
}

// opener tries to open model; ok reports whether the name was its to handle.
type opener func(model string, o Options) (b sr.Backend, ok bool, err error)

// openers lists one opener per model family; each lives in its own file of this package.
var openers = []opener{openRealESRGAN, openDiffusion}
