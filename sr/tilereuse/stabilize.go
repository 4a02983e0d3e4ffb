package tilereuse

import (
	"context"
	"fmt"
	"image"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// Stabilize. A GAN's output for the same static content differs from frame to frame, because the
// compression noise it amplifies differs: flicker. With Stabilize every frame is upscaled whole as
// usual; then the input is cut into Block x Block blocks, each compared with its reference (the
// input when the block's output was last taken fresh) by the Reuse test. A changed block, and every
// block within Margin input pixels of one (the model's output there saw the change: a GAN's halo
// around a moving edge reaches beyond its block, and kept, it would trail behind as a ghost),
// takes this frame's output and becomes its own reference. Any other block keeps its reference
// output plus the change of the input since, upscaled by Lanczos:
//
//	out = refOut + lanczos(in) - lanczos(refIn)
//
// so the output changes exactly as much as the Lanczos-upscaled input does there: slow drift and
// details below the threshold still move (unlike Reuse), and compression noise shows no more than
// with Lanczos. Next to a changed block the kept output is blended into the fresh one over Feather
// input pixels inside the unchanged block, never inside the changed one, so an object that moves
// is always this frame's output (no ghost). Scene cuts (frame.Frame.Scene), the first frame and a
// failed call start afresh. Any scale works.
//
// Cost: a Lanczos resize per frame and four frames of references and scratch (12 bytes per input
// pixel, 36 per output pixel); no model time is saved.

// initStabilize fills Stabilize's defaults and validates.
func (c *Config) initStabilize() error {
	if c.Threshold == 0 {
		c.Threshold = DefaultStabilizeThreshold
	}
	if c.Block == 0 {
		c.Block = DefaultStabilizeBlock
	}
	if c.Feather == 0 {
		c.Feather = max(1, c.Block/2)
	}
	if c.Margin == 0 {
		c.Margin = DefaultMargin
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
	switch {
	case !(c.Threshold > 0 && c.Threshold <= 1):
		return fmt.Errorf("%w: threshold %g must be in (0,1]", ErrConfig, c.Threshold)
	case c.Block < 1 || c.Margin < 0:
		return fmt.Errorf("%w: block %d, margin %d", ErrConfig, c.Block, c.Margin)
	case c.Feather < 0 || c.Feather > c.Block:
		return fmt.Errorf("%w: feather %d must be in [0, block %d]", ErrConfig, c.Feather, c.Block)
	}
	return nil
}

// stabilizer is Stabilize's upscaler. Not safe for concurrent use.
type stabilizer struct {
	b       *Backend
	spec    sr.Spec
	full    sr.Upscaler // nil once closed
	lanczos *resample.Resizer

	block, nx, ny  int
	reach          int   // blocks around a changed one that are fresh too (Margin)
	startX, startY []int // output column/row where each block column/row starts; last = size
	ofX, ofY       []int // output column/row -> block column/row
	featherX       float64
	featherY       float64

	ref, refOut, refL, l *frame.Frame // reference input, its output and its Lanczos upscale; this frame's Lanczos
	have                 bool
	scene                int64
	raw, changed         []bool // blocks whose input changed; those and their neighbours within reach
}

func newStabilizer(b *Backend, spec sr.Spec, full sr.Upscaler) (*stabilizer, error) {
	in, out := spec.In, spec.Out
	r, err := resample.NewResizer(resample.Lanczos, in.X, in.Y, out.X, out.Y)
	if err != nil {
		return nil, fmt.Errorf("tilereuse: %w", err)
	}
	B := b.cfg.Block
	st := &stabilizer{b: b, spec: spec, full: full, lanczos: r, block: B,
		nx: (in.X + B - 1) / B, ny: (in.Y + B - 1) / B,
		featherX: float64(b.cfg.Feather) * float64(out.X) / float64(in.X),
		featherY: float64(b.cfg.Feather) * float64(out.Y) / float64(in.Y),
		ref:      frame.New(in.X, in.Y), refOut: frame.New(out.X, out.Y),
		refL: frame.New(out.X, out.Y), l: frame.New(out.X, out.Y)}
	st.reach = (b.cfg.Margin + B - 1) / B
	st.raw, st.changed = make([]bool, st.nx*st.ny), make([]bool, st.nx*st.ny)
	st.startX, st.ofX = blockMap(st.nx, B, in.X, out.X)
	st.startY, st.ofY = blockMap(st.ny, B, in.Y, out.Y)
	return st, nil
}

// blockMap returns, for n blocks of b input pixels along an axis of in input and out output
// pixels, the output position where each block starts (n+1 entries, the last = out) and the block
// of each output position.
func blockMap(n, b, in, out int) (start, of []int) {
	start = make([]int, n+1)
	for i := range n {
		start[i] = (i*b*out + in/2) / in
	}
	start[n] = out
	of = make([]int, out)
	for i := range n {
		for x := start[i]; x < start[i+1]; x++ {
			of[x] = i
		}
	}
	return start, of
}

// BatchSize implements sr.Upscaler: the wrapped upscaler's (frames are stabilized in order).
func (st *stabilizer) BatchSize() int { return max(1, st.full.BatchSize()) }

// Close implements sr.Upscaler. It is nil-safe and idempotent.
func (st *stabilizer) Close() error {
	if st == nil || st.full == nil {
		return nil
	}
	err := st.full.Close()
	st.full = nil
	return err
}

// Upscale implements sr.Upscaler.
func (st *stabilizer) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(st.full == nil, st.spec, dst, src); err != nil {
		return fmt.Errorf("tilereuse: %w", err)
	}
	if err := st.full.Upscale(ctx, dst, src); err != nil {
		st.have = false
		return err
	}
	for i, s := range src {
		if err := st.one(dst[i], s); err != nil {
			st.have = false
			return err
		}
	}
	return nil
}

// one stabilizes d, the fresh output of s, in place.
func (st *stabilizer) one(d, s *frame.Frame) error {
	if err := st.lanczos.Resize(st.l, s); err != nil {
		return err
	}
	if !st.have || s.Scene != st.scene {
		copy(st.ref.Pix, s.Pix)
		copy(st.refOut.Pix, d.Pix)
		copy(st.refL.Pix, st.l.Pix)
		st.have, st.scene = true, s.Scene
		st.b.fresh.Add(int64(len(st.changed)))
		return nil
	}
	B, fresh := st.block, 0
	for by := range st.ny {
		for bx := range st.nx {
			r := image.Rect(bx*B, by*B, min((bx+1)*B, s.W), min((by+1)*B, s.H))
			st.raw[by*st.nx+bx] = changed(s, st.ref, r, B, st.b.cfg.Threshold)
		}
	}
	st.dilate()
	for by := range st.ny {
		for bx := range st.nx {
			if !st.changed[by*st.nx+bx] {
				continue
			}
			r := image.Rect(bx*B, by*B, min((bx+1)*B, s.W), min((by+1)*B, s.H))
			fresh++
			copyRect(st.ref, s, r)
			o := image.Rect(st.startX[bx], st.startY[by], st.startX[bx+1], st.startY[by+1])
			copyRect(st.refOut, d, o)
			copyRect(st.refL, st.l, o)
		}
	}
	st.b.fresh.Add(int64(fresh))
	st.b.held.Add(int64(len(st.changed) - fresh))
	st.compose(d)
	return nil
}

// dilate sets changed: raw, grown by reach blocks in every direction.
func (st *stabilizer) dilate() {
	R := st.reach
	for by := range st.ny {
		for bx := range st.nx {
			c := false
			for y := max(0, by-R); y <= min(st.ny-1, by+R) && !c; y++ {
				for x := max(0, bx-R); x <= min(st.nx-1, bx+R); x++ {
					if st.raw[y*st.nx+x] {
						c = true
						break
					}
				}
			}
			st.changed[by*st.nx+bx] = c
		}
	}
}

// compose writes, where blocks are unchanged, the kept output moved by Lanczos' change into d
// (which holds the fresh output), blended towards the fresh output near changed blocks.
func (st *stabilizer) compose(d *frame.Frame) {
	W := d.W
	for y := range d.H {
		by := st.ofY[y]
		for x := 0; x < W; {
			bx := st.ofX[x]
			x1 := st.startX[bx+1]
			if st.changed[by*st.nx+bx] {
				x = x1 // fresh as it is
				continue
			}
			near := st.nearChanged(bx, by)
			for ; x < x1; x++ {
				hold := float32(1)
				if near {
					hold = st.holdWeight(x, y, bx, by)
				}
				if hold == 0 {
					continue
				}
				i := y*W + x
				for c := range 3 {
					n := c * W * d.H
					kept := st.refOut.Pix[n+i] + st.l.Pix[n+i] - st.refL.Pix[n+i]
					f := d.Pix[n+i]
					d.Pix[n+i] = f + hold*(kept-f)
				}
			}
		}
	}
}

// nearChanged reports whether any of the 8 neighbours of block (bx, by) changed.
func (st *stabilizer) nearChanged(bx, by int) bool {
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if st.isChanged(bx+dx, by+dy) {
				return true
			}
		}
	}
	return false
}

func (st *stabilizer) isChanged(bx, by int) bool {
	return bx >= 0 && by >= 0 && bx < st.nx && by < st.ny && st.changed[by*st.nx+bx]
}

// holdWeight is how much of the kept output pixel (x, y) of unchanged block (bx, by) takes: 1 less
// the largest feather ramp towards a changed neighbour, at the pixel's Chebyshev distance from it.
func (st *stabilizer) holdWeight(x, y, bx, by int) float32 {
	distX := [3]int{x - st.startX[bx] + 1, 0, st.startX[bx+1] - x}
	distY := [3]int{y - st.startY[by] + 1, 0, st.startY[by+1] - y}
	fresh := float32(0)
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if !st.isChanged(bx+dx, by+dy) {
				continue
			}
			f := min(ramp(distX[dx+1], st.featherX), ramp(distY[dy+1], st.featherY))
			fresh = max(fresh, f)
		}
	}
	return 1 - fresh
}
