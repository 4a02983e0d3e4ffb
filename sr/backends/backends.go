// Package backends opens an sr.Backend from a --model value. It is the one place that knows every
// backend, so the CLI and library users select models the same way.
package backends

import (
	"fmt"
	"strings"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/classical"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// Default is the model used when none is named: the embedded Real-ESRGAN that runs on a CPU.
const Default = "realesrgan-x4fast"

// Options configures whichever backend is opened: the runtime settings every ONNX backend shares,
// then each backend family's own, declared once in its package. Fields that do not apply to the
// opened backend are ignored.
type Options struct {
	// Runtime is ONNX Runtime's configuration (device, library, threads, cache directory).
	Runtime ort.Runtime
	// RealESRGAN holds the Real-ESRGAN models' options (tile, precision, foreign model scale).
	RealESRGAN realesrgan.Options
	// Diffusion holds the diffusion runtime's options (steps, preset, guidance, sampler, ...).
	Diffusion diffusion.Options
	// Logf receives one-line notices such as a device fallback (optional). It defaults to discarding.
	Logf func(format string, args ...any) `json:"-"`
}

// Init fills the defaults and validates what does not depend on the model.
func (o *Options) Init() error {
	o.Runtime.Init()
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if err := o.RealESRGAN.Init(); err != nil {
		return err
	}
	return o.Diffusion.Init()
}

// Open returns the backend named by model:
//   - lanczos, bicubic: classical resamplers;
//   - realesrgan-x4fast, realesrgan-x4plus: the converted Real-ESRGAN models (ONNX Runtime);
//   - PATH.onnx: a foreign single-input NCHW model;
//   - diffusion:DIR: a SeeSR+SAM2 bundle.
func Open(model string, o Options) (sr.Backend, error) {
	if err := o.Init(); err != nil {
		return nil, err
	}
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
