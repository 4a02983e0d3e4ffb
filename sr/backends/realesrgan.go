package backends

import (
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// openRealESRGAN handles realesrgan-x4fast, realesrgan-x4plus and PATH.onnx.
func openRealESRGAN(model string, o Options) (sr.Backend, bool, error) {
	if !realesrgan.IsModel(model) {
		return nil, false, nil
	}
	b, err := realesrgan.Open(realesrgan.Config{Model: model, Options: o.RealESRGAN, Runtime: o.Runtime, Logf: o.Logf})
	if err != nil {
		return nil, true, err
	}
	return b, true, nil
}
