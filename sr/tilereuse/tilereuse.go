// Package tilereuse wraps any sr.Backend so that parts of a frame that have not changed since they
// were last upscaled keep that output: one mechanism with two settings.
//   - Reuse (--reuse-tiles THRESH): unchanged tiles are not upscaled again; their output is copied
//     (faster on static shots, but a change smaller than the threshold freezes).
//   - Stabilize (--stabilize, Config.Stabilize): every frame is upscaled whole, and in unchanged
//     blocks the earlier output is kept, moved by the Lanczos upscale of the input's change since
//     (no saving; a GAN's frame-to-frame flicker on static content becomes the input's own change).
//
// Both keep, per region, the input its output was computed from (the reference) and decide with the
// same test: a region changed when the mean absolute difference of any of its blocks exceeds the
// threshold. Stabilize is described in stabilize.go; what follows is Reuse.
//
// Design. The input is cut into Tile x Tile tiles (the last row and column smaller). Each tile is
// compared, in Block x Block blocks, with the input it had when its current output was computed
// (its reference, not merely the previous frame, so slow drift cannot accumulate past the
// threshold): the tile changed when the mean absolute difference of any block, over R, G and B on
// the [0,1] scale, exceeds Threshold. Unchanged tiles keep their output. Changed tiles are
// covered with rectangles of tiles (the runs of changed tiles of each row, joined down the rows,
// then merged greedily while one window for the merged bounding box costs no more input pixels
// than separate ones, since every window pays for its margins), and each rectangle is upscaled by
// the wrapped backend on a window: the rectangle plus Margin input pixels of context on every side,
// moved inward at the frame's edges. Inner upscalers are made per window size on first use
// (MaxWindows kept). The window's centre (its rectangle) replaces that part of the output; its
// margin is feather-blended into neighbouring reused tiles over Feather input pixels (a linear ramp
// from 1 at the rectangle's edge to 0), so no seam shows between fresh and reused output. When the
// windows would cover more than FullAbove times the frame's area, when the scene changes
// (frame.Frame.Scene), on the first frame and after an error, the whole frame is upscaled instead.
// Reuse needs a whole-number scale (2x, 3x, 4x; each axis on its own); other scales pass straight
// to the wrapped backend.
//
// Order. Reuse compares each frame with what the same Upscaler saw before, so it works best when one
// Upscaler sees every frame in order: run the pipeline with Workers = 1 (NewUpscaler logs a notice
// when a second upscaler is made). With several workers the result is still correct (tiles are
// reused only against their own reference input, within Threshold), just reused less often, and
// workers may alternate between slightly different reused outputs.
//
// Cost: each Upscaler holds up to 1+MaxWindows inner upscalers (full frame and window sizes), the
// reference input (12 bytes per input pixel) and the reference output (12 bytes per output pixel).
// A window of w x h tiles costs (w*Tile+2*Margin)(h*Tile+2*Margin)/(w*h*Tile^2) times its area in
// the inner backend (with the defaults 4x for a lone tile, 2.25x for 2x2 tiles, 1.56x for 4x4),
// plus whatever context the inner backend adds itself (Real-ESRGAN reads 10 more pixels on every
// side). The defaults (32-pixel tiles, 16 pixels of margin) were the fastest for at most 0.1 dB
// loss with Real-ESRGAN among 32/64-pixel tiles and 8/16-pixel margins (temporal/MEASUREMENTS.md).
package tilereuse

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/sr"
)

// Defaults of Config.
const (
	DefaultTile       = 32
	DefaultMargin     = 16
	DefaultBlock      = 16
	DefaultFullAbove  = 0.6
	DefaultMaxWindows = 8

	// DefaultStabilizeThreshold and DefaultStabilizeBlock are Stabilize's threshold and block
	// size: small blocks, so that a small moving object makes its own block fresh, and the
	// threshold --reuse-tiles is used with (0.02, above compression noise on static content).
	DefaultStabilizeThreshold = 0.02
	DefaultStabilizeBlock     = 8
)

// ErrConfig is returned by New for an invalid Config.
var ErrConfig = errors.New("tilereuse: bad configuration")

// Config configures New.
type Config struct {
	// Stabilize selects the second setting (see the package doc): every frame upscaled whole,
	// unchanged blocks kept (optional). It defaults to false: Reuse. With Stabilize, Tile,
	// MaxWindows and FullAbove do not apply; Block is the unit of decision and Feather the width
	// of the blend between a fresh block and a kept one.
	Stabilize bool
	// Threshold is the largest block mean absolute difference (R, G and B on [0,1]) for which a
	// tile is still reused: --reuse-tiles THRESH. It must be positive; 0.01 to 0.03 suits 8-bit
	// lossy video (compression noise on static content stays below about 0.01). With Stabilize it
	// is optional and defaults to DefaultStabilizeThreshold.
	Threshold float64
	// Tile is the tile size in input pixels (optional). It defaults to 32.
	Tile int
	// Margin is the context, in input pixels, upscaled around a changed tile (optional). It defaults
	// to 16. It should cover the inner model's receptive field for the tile's centre to match a
	// full-frame run. With Stabilize, blocks within Margin of a changed block take fresh output too.
	Margin int
	// Feather is how far, in input pixels, a changed tile's fresh output is blended into a reused
	// neighbour (optional). It defaults to Margin/2 and must not exceed Margin.
	Feather int
	// Block is the size of the blocks whose differences decide a tile (optional). It defaults to 16
	// (DefaultStabilizeBlock with Stabilize).
	Block int
	// MaxWindows is the number of window sizes whose inner upscalers are kept (optional); beyond
	// it the least recently used is closed. It defaults to 8.
	MaxWindows int
	// FullAbove is the total window area, as a fraction of the frame's area, above which the whole
	// frame is upscaled instead (optional). It defaults to 0.6.
	FullAbove float64
	// Logf receives one-line notices (optional).
	Logf func(format string, args ...any)
}

// Init fills the defaults and validates.
func (c *Config) Init() error {
	if c.Stabilize {
		return c.initStabilize()
	}
	if c.Tile == 0 {
		c.Tile = DefaultTile
	}
	if c.Margin == 0 {
		c.Margin = DefaultMargin
	}
	if c.Feather == 0 {
		c.Feather = max(1, c.Margin/2)
	}
	if c.Block == 0 {
		c.Block = DefaultBlock
	}
	if c.FullAbove == 0 {
		c.FullAbove = DefaultFullAbove
	}
	if c.MaxWindows == 0 {
		c.MaxWindows = DefaultMaxWindows
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case !(c.Threshold > 0 && c.Threshold <= 1):
		return fmt.Errorf("%w: threshold %g must be in (0,1]", ErrConfig, c.Threshold)
	case c.Tile < 8 || c.Margin < 0 || c.Block < 1:
		return fmt.Errorf("%w: tile %d (>= 8), margin %d, block %d", ErrConfig, c.Tile, c.Margin, c.Block)
	case c.Feather < 0 || c.Feather > c.Margin && c.Margin > 0:
		return fmt.Errorf("%w: feather %d must be in [0, margin %d]", ErrConfig, c.Feather, c.Margin)
	case c.MaxWindows < 0:
		return fmt.Errorf("%w: negative window count %d", ErrConfig, c.MaxWindows)
	case c.FullAbove < 0:
		return fmt.Errorf("%w: negative full-frame fraction %g", ErrConfig, c.FullAbove)
	}
	return nil
}

// Backend is a wrapped backend. It implements sr.Backend and sr.Counter and is safe for concurrent
// use. It owns the wrapped backend: Close closes it.
type Backend struct {
	inner sr.Backend
	cfg   Config

	upscalers atomic.Int64
	held      atomic.Int64 // Stabilize: blocks that kept an earlier output
	fresh     atomic.Int64 // Stabilize: blocks given this frame's output
	reused    atomic.Int64 // tiles copied from an earlier output
	computed  atomic.Int64 // tiles upscaled on their own window
	full      atomic.Int64 // frames upscaled whole
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

// Name implements sr.Backend: the inner name with "+reuse" (or "+stabilize") appended.
func (b *Backend) Name() string {
	if b.cfg.Stabilize {
		return b.inner.Name() + "+stabilize"
	}
	return b.inner.Name() + "+reuse"
}

// Caps implements sr.Backend: the wrapped backend's, with one worker (each frame is compared with
// the previous one its upscaler saw) and float RGB frames only (tiles are float crops, blends are
// on float samples).
func (b *Backend) Caps() sr.Caps {
	c := b.inner.Caps()
	c.Workers = 1
	c.SourceFormat = false
	return c
}

// Inner returns the wrapped backend.
func (b *Backend) Inner() sr.Backend { return b.inner }

// Close implements sr.Backend: it closes the wrapped backend.
func (b *Backend) Close() error { return b.inner.Close() }

// Counters implements sr.Counter: the wrapped backend's counters, then reused_tiles,
// computed_tiles (upscaled on their own window) and full_frames (upscaled whole); with Stabilize,
// held_blocks (kept an earlier output) and fresh_blocks instead.
func (b *Backend) Counters(visit func(key string, value int64)) {
	if c, ok := b.inner.(sr.Counter); ok {
		c.Counters(visit)
	}
	if b.cfg.Stabilize {
		visit("held_blocks", b.held.Load())
		visit("fresh_blocks", b.fresh.Load())
		return
	}
	visit("reused_tiles", b.reused.Load())
	visit("computed_tiles", b.computed.Load())
	visit("full_frames", b.full.Load())
}

// NewUpscaler implements sr.Backend. When the scale is not a whole number on each axis, reuse is
// off for spec and the inner upscaler is returned as is (logged).
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	if b.upscalers.Add(1) == 2 {
		b.cfg.Logf("tilereuse: more than one worker: tiles are reused per worker; run one worker for the most reuse")
	}
	full, err := b.inner.NewUpscaler(spec)
	if err != nil {
		return nil, err
	}
	if b.cfg.Stabilize {
		st, err := newStabilizer(b, spec, full)
		if err != nil {
			full.Close()
			return nil, err
		}
		return st, nil
	}
	g, why := newGeometry(spec, b.cfg)
	if why != "" {
		b.cfg.Logf("tilereuse: reuse off for %v -> %v: %s", spec.In, spec.Out, why)
		return full, nil
	}
	return newUpscaler(b, g, full), nil
}
