// Package classical is the resampling backend: Lanczos-3 or bicubic straight from input to output
// size. It is the baseline the learned backends are measured against, and the fallback.
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

// Caps implements sr.Backend: cheaper than looking for duplicates, a worker per core.
func (b *Backend) Caps() sr.Caps { return sr.Caps{Cheap: true, Workers: runtime.NumCPU()} }

// Close implements sr.Backend.
func (b *Backend) Close() error { return nil }

// NewUpscaler implements sr.Backend.
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	r, err := resample.NewResizer(b.Filter, spec.In.X, spec.In.Y, spec.Out.X, spec.Out.Y)
	if err != nil {
		return nil, fmt.Errorf("classical: %w", err)
	}
	return &upscaler{r: r, spec: spec}, nil
}

type upscaler struct {
	r    *resample.Resizer // nil once closed
	spec sr.Spec
}

func (u *upscaler) BatchSize() int { return 1 }
func (u *upscaler) Close() error   { u.r = nil; return nil }

func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.r == nil, u.spec, dst, src); err != nil {
		return fmt.Errorf("classical: %w", err)
	}
	for i := range src {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := u.r.Resize(dst[i], src[i]); err != nil {
			return err
		}
	}
	return nil
}
