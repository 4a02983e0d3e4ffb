// Package strength wraps a learned backend so that its output is blended with the Lanczos
// resampler's (--strength): 1 is the model alone, 0 the resampler alone, and in between
// Strength*model + (1-Strength)*lanczos, per sample, in the signal domain (the frames' own
// gamma-encoded RGB) or, with Linear, in linear light.
//
// Why a blend: on upload-degraded video a GAN's output is sharper than Lanczos' but further from
// the original (PSNR, sometimes SSIM) and flickers more; a mix keeps much of the sharpness and gets
// closer on both (README, "Fidelity and flicker").
//
// Cost: one Lanczos resize per frame next to the model (milliseconds against its seconds) and one
// output-sized float frame per frame of a batch. At strength 0 the model is not run at all.
package strength

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// ErrConfig is returned by New for a strength outside [0,1].
var ErrConfig = errors.New("strength: bad configuration")

// Gamma is the exponent of the transfer function used for linear-light blending: BT.1886's
// display gamma (with a zero black level), the one the BT.709 frames ugcsr handles are shown with.
const Gamma = 2.4

// Config configures New.
type Config struct {
	// Strength is the model's share of the output, in [0,1].
	Strength float64
	// Linear blends in linear light (samples raised to Gamma, blended, raised to 1/Gamma) instead
	// of on the samples as they are (optional). It defaults to false: measured (README, "Fidelity
	// and flicker"), it was better on one shared clip, equal on one, worse on one, and costs three
	// math.Pow per sample.
	Linear bool
}

// Init validates.
func (c *Config) Init() error {
	if !(c.Strength >= 0 && c.Strength <= 1) {
		return fmt.Errorf("%w: strength %g must be in [0,1]", ErrConfig, c.Strength)
	}
	return nil
}

// Backend blends a wrapped backend's output with Lanczos'. It implements sr.Backend and, when the
// wrapped backend does, passes its counters on. It owns the wrapped backend: Close closes it.
type Backend struct {
	inner sr.Backend
	cfg   Config
}

var (
	_ sr.Backend = (*Backend)(nil)
	_ sr.Counter = (*Backend)(nil)
)

// New wraps inner.
func New(inner sr.Backend, cfg Config) (*Backend, error) {
	if err := cfg.Init(); err != nil {
		return nil, err
	}
	return &Backend{inner: inner, cfg: cfg}, nil
}

// Name implements sr.Backend: the inner name with the strength appended, e.g.
// "realesrgan-x4fast@0.5".
func (b *Backend) Name() string {
	s := fmt.Sprintf("%s@%g", b.inner.Name(), b.cfg.Strength)
	if b.cfg.Linear {
		s += "-linear"
	}
	return s
}

// Caps implements sr.Backend: the wrapped backend's, in float RGB only (the blend is on float
// samples).
func (b *Backend) Caps() sr.Caps {
	c := b.inner.Caps()
	c.SourceFormat = false
	return c
}

// Inner returns the wrapped backend.
func (b *Backend) Inner() sr.Backend { return b.inner }

// Close implements sr.Backend: it closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Counters implements sr.Counter with the wrapped backend's counters.
func (b *Backend) Counters(visit func(key string, value int64)) {
	if c, ok := b.inner.(sr.Counter); ok {
		c.Counters(visit)
	}
}

// NewUpscaler implements sr.Backend.
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	r, err := resample.NewResizer(resample.Lanczos, spec.In.X, spec.In.Y, spec.Out.X, spec.Out.Y)
	if err != nil {
		return nil, fmt.Errorf("strength: %w", err)
	}
	u := &upscaler{spec: spec, cfg: b.cfg, lanczos: r, open: true}
	if b.cfg.Strength > 0 {
		if u.inner, err = b.inner.NewUpscaler(spec); err != nil {
			return nil, err
		}
	}
	return u, nil
}

type upscaler struct {
	spec    sr.Spec
	cfg     Config
	inner   sr.Upscaler // nil at strength 0
	lanczos *resample.Resizer
	scratch []*frame.Frame // Lanczos outputs, one per frame of a batch
	open    bool
}

// BatchSize implements sr.Upscaler: the wrapped upscaler's.
func (u *upscaler) BatchSize() int {
	if u.inner == nil {
		return 1
	}
	return u.inner.BatchSize()
}

// Close implements sr.Upscaler. It is nil-safe and idempotent.
func (u *upscaler) Close() error {
	if u == nil || !u.open {
		return nil
	}
	u.open = false
	u.scratch = nil
	if u.inner != nil {
		return u.inner.Close()
	}
	return nil
}

// Upscale implements sr.Upscaler.
func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(!u.open, u.spec, dst, src); err != nil {
		return fmt.Errorf("strength: %w", err)
	}
	if u.inner == nil { // strength 0: the resampler alone
		for i := range src {
			if err := u.lanczos.Resize(dst[i], src[i]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := u.inner.Upscale(ctx, dst, src); err != nil {
		return err
	}
	if u.cfg.Strength == 1 {
		return nil
	}
	for len(u.scratch) < len(src) {
		u.scratch = append(u.scratch, frame.New(u.spec.Out.X, u.spec.Out.Y))
	}
	for i := range src {
		l := u.scratch[i]
		if err := u.lanczos.Resize(l, src[i]); err != nil {
			return err
		}
		Blend(dst[i], dst[i], l, u.cfg.Strength, u.cfg.Linear)
	}
	return nil
}

// Blend writes s*model + (1-s)*classical into dst, sample by sample, in the signal domain or, with
// linear, in linear light (see Gamma). dst may be model or classical. All three frames must have
// the same size.
func Blend(dst, model, classical *frame.Frame, s float64, linear bool) {
	a, b := float32(s), float32(1-s)
	d, m, c := dst.Pix, model.Pix[:len(dst.Pix)], classical.Pix[:len(dst.Pix)]
	if !linear {
		for i := range d {
			d[i] = a*m[i] + b*c[i]
		}
		return
	}
	for i := range d {
		lm := math.Pow(max(float64(m[i]), 0), Gamma)
		lc := math.Pow(max(float64(c[i]), 0), Gamma)
		d[i] = float32(math.Pow(s*lm+(1-s)*lc, 1/Gamma))
	}
}
