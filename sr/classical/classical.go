// Package classical is the resampling backend: Lanczos-3 or bicubic straight from input to output
// size. It is the baseline the learned backends are measured against, and the fallback.
//
// It takes float RGB frames and, with no colour conversion, frames in the source's own planar YUV
// format (sr.Caps.SourceFormat): each plane is then resampled at its own size the way FFmpeg's
// swscale does (resample.PlaneResizer), so the job matches ffmpeg -vf scale=...:flags=lanczos.
package classical

import (
	"context"
	"fmt"
	"runtime"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// Backend resamples with one filter.
type Backend struct {
	Filter resample.Filter
}

// New returns a backend for the named filter ("lanczos" or "bicubic").
func New(name string) (*Backend, error) {
	f, err := resample.ParseFilter(name)
	if err != nil || f == resample.Area {
		return nil, fmt.Errorf("classical: %q is not a classical upscaler (want lanczos or bicubic)", name)
	}
	return &Backend{Filter: f}, nil
}

// Name implements sr.Backend.
func (b *Backend) Name() string { return b.Filter.String() }

// Caps implements sr.Backend: cheaper than looking for duplicates, a worker per core, and able to
// work in the source's own format.
func (b *Backend) Caps() sr.Caps {
	return sr.Caps{Cheap: true, Workers: runtime.NumCPU(), SourceFormat: true}
}

// Close implements sr.Backend.
func (b *Backend) Close() error { return nil }

// NewUpscaler implements sr.Backend.
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	r, err := resample.NewResizer(b.Filter, spec.In.X, spec.In.Y, spec.Out.X, spec.Out.Y)
	if err != nil {
		return nil, fmt.Errorf("classical: %w", err)
	}
	return &upscaler{r: r, spec: spec, filter: b.Filter}, nil
}

type upscaler struct {
	r      *resample.Resizer // nil once closed
	spec   sr.Spec
	filter resample.Filter
	planes [2]*resample.PlaneResizer // luma, chroma: made at the first YUV frame
	sizes  [2][4]int                 // their in and out sizes
}

func (u *upscaler) BatchSize() int { return 1 }
func (u *upscaler) Close() error   { u.r, u.planes = nil, [2]*resample.PlaneResizer{}; return nil }

func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.r == nil, u.spec, dst, src); err != nil {
		return fmt.Errorf("classical: %w", err)
	}
	for i := range src {
		if err := ctx.Err(); err != nil {
			return err
		}
		if src[i].YUV != nil {
			if err := u.resizeYUV(dst[i], src[i]); err != nil {
				return fmt.Errorf("classical: %w", err)
			}
			continue
		}
		if err := u.r.Resize(dst[i], src[i]); err != nil {
			return err
		}
	}
	return nil
}

// resizeYUV resamples each plane of src at its own size into dst, which must be in src's format.
func (u *upscaler) resizeYUV(dst, src *frame.Frame) error {
	s, d := src.YUV, dst.YUV
	if d == nil || d.Planes != s.Planes {
		return fmt.Errorf("%w: source-format frame into a frame of another format", sr.ErrFrameSize)
	}
	for c := 0; c < 3; c++ {
		iw, ih := s.PlaneSize(c)
		ow, oh := d.PlaneSize(c)
		p, err := u.plane(min(c, 1), [4]int{iw, ih, ow, oh})
		if err != nil {
			return err
		}
		if s.Planes.Depth > 8 {
			err = p.Resize16(d.Plane16(c), s.Plane16(c), s.Planes.Depth)
		} else {
			err = p.Resize8(d.Plane8(c), s.Plane8(c))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// plane returns the resizer of plane kind k (0 luma, 1 chroma) for the given sizes.
func (u *upscaler) plane(k int, size [4]int) (*resample.PlaneResizer, error) {
	if u.planes[k] == nil || u.sizes[k] != size {
		p, err := resample.NewPlaneResizer(u.filter, size[0], size[1], size[2], size[3])
		if err != nil {
			return nil, err
		}
		u.planes[k], u.sizes[k] = p, size
	}
	return u.planes[k], nil
}
