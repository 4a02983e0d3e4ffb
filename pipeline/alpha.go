package pipeline

import (
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// alphaResizer gives an output frame the input's alpha plane, resized with the classical Lanczos
// resampler: models take colour only, so the alpha of a PNG with transparency goes beside them.
// It belongs to the encoding goroutine.
type alphaResizer struct {
	r *resample.Resizer
}

// resize sets dst's alpha from src's (nothing when src has none), clamped to [0,1] since Lanczos
// rings at hard edges.
func (a *alphaResizer) resize(dst, src *frame.Frame) error {
	if len(src.Alpha) == 0 || dst.YUV != nil {
		return nil
	}
	if a.r == nil {
		r, err := resample.NewResizer(resample.Lanczos, src.W, src.H, dst.W, dst.H)
		if err != nil {
			return err
		}
		a.r = r
	}
	out := dst.SetAlpha()
	a.r.ResizePlane(out, src.Alpha)
	for i, v := range out {
		out[i] = min(max(v, 0), 1)
	}
	return nil
}
