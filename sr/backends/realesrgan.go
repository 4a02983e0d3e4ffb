package backends

import (
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// openRealESRGAN handles realesrgan-x4fast, realesrgan-x4plus and PATH.onnx.
func openRealESRGAN(model string, o Options) (sr.Backend, bool, error) {
	if !realesrgan.IsModel(model) {
		return nil, false, nil
	}
	dev, err := ort.ParseDevice(o.Device)
	if err != nil {
		return nil, true, err
	}
	b, err := realesrgan.Open(realesrgan.Config{
		Model:      model,
		Device:     dev,
		ORTLib:     o.ORTLib,
		Threads:    o.Threads,
		Tile:       o.Tile,
		ModelScale: o.ModelScale,
		Precision:  o.Precision,
		CacheDir:   o.CacheDir,
		Logf:       o.Logf,
	})
	if err != nil {
		return nil, true, err
	}
	return b, true, nil
}
