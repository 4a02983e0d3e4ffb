package tilereuse_test

import (
	"context"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/classical"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
)

// counting wraps the Lanczos backend and counts pixels upscaled and upscalers open.
type counting struct {
	inner  sr.Backend
	pixels atomic.Int64 // input pixels upscaled
	open   atomic.Int64
	closed atomic.Bool
}

func newCounting(t *testing.T) *counting {
	b, err := classical.New("lanczos")
	if err != nil {
		t.Fatal(err)
	}
	return &counting{inner: b}
}

func (c *counting) Name() string  { return "lanczos" }
func (c *counting) Caps() sr.Caps { return sr.Caps{Cheap: true} }
func (c *counting) Close() error  { c.closed.Store(true); return nil }
func (c *counting) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	u, err := c.inner.NewUpscaler(spec)
	if err != nil {
		return nil, err
	}
	c.open.Add(1)
	return &countingUp{Upscaler: u, c: c}, nil
}
func (c *counting) Counters(visit func(string, int64)) { visit("inner_pixels", c.pixels.Load()) }

type countingUp struct {
	sr.Upscaler
	c      *counting
	closed bool
}

func (u *countingUp) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	for _, s := range src {
		u.c.pixels.Add(int64(s.W * s.H))
	}
	return u.Upscaler.Upscale(ctx, dst, src)
}

func (u *countingUp) Close() error {
	if !u.closed {
		u.closed = true
		u.c.open.Add(-1)
	}
	return nil
}

// smooth returns a w x h frame of seeded, smoothly varying content (random blobs), plus its pixels
// as a copy for the unchanged-input check.
func smooth(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 2))
	f := frame.New(w, h)
	type blob struct{ x, y, s, v float64 }
	var blobs [3][8]blob
	for c := range blobs {
		for i := range blobs[c] {
			blobs[c][i] = blob{r.Float64() * float64(w), r.Float64() * float64(h), 5 + r.Float64()*30, r.Float64()}
		}
	}
	for c := range 3 {
		p := f.Plane(c)
		for y := range h {
			for x := range w {
				v := 0.1
				for _, b := range blobs[c] {
					dx, dy := float64(x)-b.x, float64(y)-b.y
					v += 0.5 * b.v * math.Exp(-(dx*dx+dy*dy)/(2*b.s*b.s))
				}
				p[y*w+x] = float32(min(1, v))
			}
		}
	}
	return f
}

type rig struct {
	t     *testing.T
	inner *counting
	b     *tilereuse.Backend
	u     sr.Upscaler
	full  sr.Upscaler
	spec  sr.Spec
}

// newRig wraps a counting Lanczos backend; the tests' geometry assumes 64-pixel tiles.
func newRig(t *testing.T, cfg tilereuse.Config, in, out image.Point) *rig {
	t.Helper()
	if cfg.Tile == 0 {
		cfg.Tile = 64
	}
	inner := newCounting(t)
	b, err := tilereuse.New(inner, cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := sr.Spec{In: in, Out: out}
	u, err := b.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := classical.New("lanczos")
	full, err := ref.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close(); u.Close() })
	return &rig{t: t, inner: inner, b: b, u: u, full: full, spec: spec}
}

// run upscales f with the wrapper and with a plain full-frame run; it checks f is unchanged.
func (r *rig) run(f *frame.Frame) (got, want *frame.Frame) {
	r.t.Helper()
	before := append([]float32(nil), f.Pix...)
	got, want = frame.New(r.spec.Out.X, r.spec.Out.Y), frame.New(r.spec.Out.X, r.spec.Out.Y)
	if err := r.u.Upscale(context.Background(), []*frame.Frame{got}, []*frame.Frame{f}); err != nil {
		r.t.Fatal(err)
	}
	if err := r.full.Upscale(context.Background(), []*frame.Frame{want}, []*frame.Frame{f}); err != nil {
		r.t.Fatal(err)
	}
	for i := range before {
		if before[i] != f.Pix[i] {
			r.t.Fatal("input modified")
		}
	}
	return got, want
}

func (r *rig) counters() map[string]int64 {
	m := map[string]int64{}
	r.b.Counters(func(k string, v int64) { m[k] = v })
	return m
}

// maxDiff returns the largest absolute difference between two frames: NaN when their sizes differ
// or a sample is NaN, so a gate written !(d <= x) fails on either.
func maxDiff(a, b *frame.Frame) float64 {
	if a.W != b.W || a.H != b.H || len(a.Pix) != len(b.Pix) {
		return math.NaN()
	}
	var m float64
	for i := range a.Pix {
		m = max(m, math.Abs(float64(a.Pix[i]-b.Pix[i])))
	}
	return m
}

func clone(f *frame.Frame) *frame.Frame {
	c := frame.New(f.W, f.H)
	copy(c.Pix, f.Pix)
	c.CopyMeta(f)
	return c
}

// TestStaticFrameReusesAll: an unchanged frame costs no inner work and repeats the output.
func TestStaticFrameReusesAll(t *testing.T) {
	r := newRig(t, tilereuse.Config{Threshold: 0.01}, image.Pt(256, 192), image.Pt(512, 384))
	a := smooth(256, 192, 1)
	first, _ := r.run(a)
	px := r.inner.pixels.Load()
	b := clone(a)
	b.Index = 1
	second, _ := r.run(b)
	if r.inner.pixels.Load() != px {
		t.Fatal("inner backend ran on an unchanged frame")
	}
	if !(maxDiff(first, second) == 0) {
		t.Fatal("output changed")
	}
	c := r.counters()
	if c["reused_tiles"] != 12 || c["computed_tiles"] != 0 || c["full_frames"] != 1 || c["inner_pixels"] != px {
		t.Fatalf("counters %v", c)
	}
}

// TestChangedTileMatchesFullRun: a change inside one tile recomputes just that tile's window, and
// the frame matches a full run everywhere (the margin covers Lanczos' support).
func TestChangedTileMatchesFullRun(t *testing.T) {
	r := newRig(t, tilereuse.Config{Threshold: 0.01}, image.Pt(256, 192), image.Pt(512, 384))
	a := smooth(256, 192, 1)
	r.run(a)
	px := r.inner.pixels.Load()
	b := clone(a)
	b.Index = 1
	for c := range 3 {
		p := b.Plane(c)
		for y := 80; y < 110; y++ { // tile (2, 1): x 128..191, y 64..127
			for x := 140; x < 180; x++ {
				p[y*256+x] = 1 - p[y*256+x]
			}
		}
	}
	got, want := r.run(b)
	if d := maxDiff(got, want); !(d <= 1e-5) {
		t.Fatalf("max difference from a full run %g", d)
	}
	if w := r.inner.pixels.Load() - px; w != 96*96 {
		t.Fatalf("inner upscaled %d pixels, want one 96x96 window", w)
	}
	if c := r.counters(); c["computed_tiles"] != 1 || c["reused_tiles"] != 11 {
		t.Fatalf("counters %v", c)
	}
}

// TestWindowSizes: changes spread over an aligned block of 2x2 tiles take one 2x2 window (cheaper
// than four single ones), a lone tile a single window, and the result still matches a full run.
func TestWindowSizes(t *testing.T) {
	r := newRig(t, tilereuse.Config{Threshold: 0.01, FullAbove: 1}, image.Pt(320, 256), image.Pt(640, 512))
	a := smooth(320, 256, 1)
	r.run(a)
	px := r.inner.pixels.Load()
	b := clone(a)
	b.Index = 1
	for c := range 3 {
		p := b.Plane(c)
		for y := 140; y < 250; y++ { // tiles (0..1, 2..3), an aligned 2x2 block
			for _, x := range []int{10, 40, 70, 100} {
				p[y*320+x] = 1 - p[y*320+x]
			}
		}
		for x := 260; x < 300; x++ { // tile (4, 0)
			p[20*320+x] = 1 - p[20*320+x]
		}
	}
	got, want := r.run(b)
	if d := maxDiff(got, want); !(d <= 1e-5) {
		t.Fatalf("max difference from a full run %g", d)
	}
	if w := r.inner.pixels.Load() - px; w != 160*160+96*96 {
		t.Fatalf("inner upscaled %d pixels, want a 2x2 and a 1x1 window", w)
	}
	if c := r.counters(); c["computed_tiles"] != 5 || c["reused_tiles"] != 15 {
		t.Fatalf("counters %v", c)
	}
}

// TestNoSeam: when every tile drifts a little (below the threshold) and one changes a lot, the
// fresh tile blends into its stale neighbours over the feather instead of stepping at the edge.
func TestNoSeam(t *testing.T) {
	r := newRig(t, tilereuse.Config{Threshold: 0.02}, image.Pt(256, 192), image.Pt(512, 384))
	a := frame.New(256, 192)
	for i := range a.Pix {
		a.Pix[i] = 0.5
	}
	r.run(a)
	b := clone(a)
	b.Index = 1
	for i := range b.Pix {
		b.Pix[i] = 0.515 // below the threshold: reused
	}
	for c := range 3 { // tile (1,1) changes a lot in its middle only
		p := b.Plane(c)
		for y := 90; y < 100; y++ {
			for x := 90; x < 100; x++ {
				p[y*256+x] = 0.9
			}
		}
	}
	got, _ := r.run(b)
	// Row 2*70 crosses tile (1,1)'s left edge at output x 128 and its right edge at 256.
	row := got.Plane(1)[140*512 : 141*512]
	var worst float64
	for x := 100; x < 290; x++ {
		worst = max(worst, math.Abs(float64(row[x+1]-row[x])))
	}
	if worst > 0.004 {
		t.Fatalf("step of %g between neighbouring pixels across a tile edge (the jump is 0.015)", worst)
	}
	if d := math.Abs(float64(row[120] - 0.5)); d > 0.0151 || row[129] < 0.514 {
		t.Fatalf("left neighbour %g, fresh tile %g", row[120], row[129])
	}
}

// TestDriftIsBounded: a slow fade (each frame below the threshold) never lets reused output drift
// from a full run by more than about the threshold, because tiles are compared with the input their
// output came from.
func TestDriftIsBounded(t *testing.T) {
	const thr = 0.01
	r := newRig(t, tilereuse.Config{Threshold: thr}, image.Pt(192, 128), image.Pt(384, 256))
	a := smooth(192, 128, 3)
	for i := range 20 {
		f := clone(a)
		f.Index = int64(i)
		for k := range f.Pix {
			f.Pix[k] = min(1, f.Pix[k]+float32(i)*0.004)
		}
		got, want := r.run(f)
		if d := meanDiff(got, want); d > thr {
			t.Fatalf("frame %d: mean difference %g", i, d)
		}
	}
	if c := r.counters(); c["full_frames"] < 2 {
		t.Fatalf("never refreshed: %v", c)
	}
}

func meanDiff(a, b *frame.Frame) float64 {
	var s float64
	for i := range a.Pix {
		s += math.Abs(float64(a.Pix[i] - b.Pix[i]))
	}
	return s / float64(len(a.Pix))
}

// TestSceneChangeRunsWhole: a new scene is upscaled whole even if it looks the same.
func TestSceneChangeRunsWhole(t *testing.T) {
	r := newRig(t, tilereuse.Config{Threshold: 0.01}, image.Pt(128, 128), image.Pt(256, 256))
	a := smooth(128, 128, 1)
	r.run(a)
	b := clone(a)
	b.Index, b.Scene = 1, 1
	r.run(b)
	if c := r.counters(); c["full_frames"] != 2 || c["reused_tiles"] != 0 {
		t.Fatalf("counters %v", c)
	}
}

// TestReuseOff: frames smaller than a window and scales that do not map tiles to whole pixels get
// the plain inner upscaler (with a note); 1.5x of 200x150 maps every edge to a whole pixel and
// keeps reuse.
func TestReuseOff(t *testing.T) {
	var notes []string
	cfg := tilereuse.Config{Threshold: 0.01, Logf: func(f string, a ...any) { notes = append(notes, f) }}
	for _, spec := range []sr.Spec{
		{In: image.Pt(64, 64), Out: image.Pt(128, 128)},
		{In: image.Pt(200, 150), Out: image.Pt(300, 225)},
		{In: image.Pt(200, 150), Out: image.Pt(333, 250)},
	} {
		r := newRig(t, cfg, spec.In, spec.Out)
		a := smooth(spec.In.X, spec.In.Y, 1)
		got, want := r.run(a)
		if !(maxDiff(got, want) <= 1e-6) {
			t.Fatalf("%v: output differs from the inner backend", spec)
		}
	}
	if len(notes) != 2 {
		t.Fatalf("notes %q", notes)
	}
}

func TestConfig(t *testing.T) {
	inner := newCounting(t)
	for _, c := range []tilereuse.Config{{}, {Threshold: -1}, {Threshold: 0.1, Tile: 4}, {Threshold: 0.1, Margin: 8, Feather: 9}} {
		if _, err := tilereuse.New(inner, c); !errors.Is(err, tilereuse.ErrConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	b, err := tilereuse.New(inner, tilereuse.Config{Threshold: 0.02, Tile: 64})
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "lanczos+reuse" {
		t.Fatal(b.Name())
	}
	u, err := b.NewUpscaler(sr.Spec{In: image.Pt(128, 128), Out: image.Pt(256, 256)})
	if err != nil {
		t.Fatal(err)
	}
	a := smooth(128, 128, 1)
	b2 := clone(a)
	b2.Index = 1
	for y := 10; y < 20; y++ {
		for x := 10; x < 20; x++ {
			b2.Pix[y*128+x] += 0.5
		}
	}
	for _, f := range []*frame.Frame{a, b2} {
		if err := u.Upscale(context.Background(), []*frame.Frame{frame.New(256, 256)}, []*frame.Frame{f}); err != nil {
			t.Fatal(err)
		}
	}
	if inner.open.Load() != 2 { // full frame, and the 1-tile window made on first use
		t.Fatalf("%d inner upscalers", inner.open.Load())
	}
	u.Close()
	u.Close()
	if inner.open.Load() != 0 {
		t.Fatal("inner upscalers not closed")
	}
	if err := u.Upscale(context.Background(), nil, nil); err == nil {
		t.Fatal("closed upscaler ran")
	}
	b.Close()
	if !inner.closed.Load() {
		t.Fatal("inner backend not closed")
	}
}

// TestDefaultsMatchFullRun: with the default tiles, frames whose changes are scattered patches
// (away from tile edges, farther than Lanczos' reach) match a full run every frame, while most
// tiles are reused.
func TestDefaultsMatchFullRun(t *testing.T) {
	inner := newCounting(t)
	b, err := tilereuse.New(inner, tilereuse.Config{Threshold: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	spec := sr.Spec{In: image.Pt(320, 192), Out: image.Pt(640, 384)}
	u, err := b.NewUpscaler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	ref, _ := classical.New("lanczos")
	full, _ := ref.NewUpscaler(spec)
	r := &rig{t: t, inner: inner, b: b, u: u, full: full, spec: spec}
	rng := rand.New(rand.NewPCG(5, 5))
	f := smooth(320, 192, 9)
	for i := range 6 {
		f = clone(f)
		f.Index = int64(i)
		if i > 0 {
			for range 1 + rng.IntN(4) {
				x0, y0 := 32*rng.IntN(10)+8+rng.IntN(10), 32*rng.IntN(6)+8+rng.IntN(10)
				for c := range 3 {
					p := f.Plane(c)
					for y := y0; y < y0+6; y++ {
						for x := x0; x < x0+6; x++ {
							p[y*320+x] = 1 - p[y*320+x]
						}
					}
				}
			}
		}
		got, want := r.run(f)
		if d := maxDiff(got, want); !(d <= 1e-5) {
			t.Fatalf("frame %d: max difference from a full run %g", i, d)
		}
	}
	c := r.counters()
	if c["full_frames"] != 1 || c["reused_tiles"] < 5*60*2/3 {
		t.Fatalf("counters %v", c)
	}
}
