package tilereuse

import (
	"context"
	"fmt"
	"image"
	"slices"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
)

// geometry is the tile grid of one Spec and its mapping to output pixels.
type geometry struct {
	in, out    image.Point
	kx, ky     int // whole-number scale per axis
	tile       int
	margin     int
	block      int
	featherX   float64 // feather width in output pixels
	featherY   float64
	nx, ny     int
	tileOfX    []int // output column -> tile column
	tileOfY    []int // output row -> tile row
	fullAbove  float64
	threshold  float64
	maxWindows int
}

// newGeometry returns the grid for spec, or why reuse is off for it.
func newGeometry(spec sr.Spec, c Config) (geometry, string) {
	g := geometry{in: spec.In, out: spec.Out, tile: c.Tile, margin: c.Margin, block: c.Block,
		fullAbove: c.FullAbove, threshold: c.Threshold, maxWindows: c.MaxWindows}
	if g.in.X <= 0 || g.in.Y <= 0 || g.out.X%g.in.X != 0 || g.out.Y%g.in.Y != 0 {
		return g, "the scale is not a whole number"
	}
	g.kx, g.ky = g.out.X/g.in.X, g.out.Y/g.in.Y
	g.nx = (g.in.X + g.tile - 1) / g.tile
	g.ny = (g.in.Y + g.tile - 1) / g.tile
	g.featherX = float64(c.Feather * g.kx)
	g.featherY = float64(c.Feather * g.ky)
	g.tileOfX = make([]int, g.out.X)
	for x := range g.tileOfX {
		g.tileOfX[x] = x / g.kx / g.tile
	}
	g.tileOfY = make([]int, g.out.Y)
	for y := range g.tileOfY {
		g.tileOfY[y] = y / g.ky / g.tile
	}
	return g, ""
}

// job is one window to upscale: the tiles r (in tile units), whose pixels core it replaces, read
// from the input rectangle win (core plus margin, moved inward at the frame's edges).
type job struct {
	r, core, win image.Rectangle
}

// job returns the window for the tiles r.
func (g *geometry) job(r image.Rectangle) job {
	core := image.Rect(r.Min.X*g.tile, r.Min.Y*g.tile, min(r.Max.X*g.tile, g.in.X), min(r.Max.Y*g.tile, g.in.Y))
	w, h := min(core.Dx()+2*g.margin, g.in.X), min(core.Dy()+2*g.margin, g.in.Y)
	x0 := max(0, min(core.Min.X-g.margin, g.in.X-w))
	y0 := max(0, min(core.Min.Y-g.margin, g.in.Y-h))
	return job{r: r, core: core, win: image.Rect(x0, y0, x0+w, y0+h)}
}

// cost is the number of input pixels the window for tiles r upscales.
func (g *geometry) cost(r image.Rectangle) int {
	w := g.job(r).win
	return w.Dx() * w.Dy()
}

// window is the inner upscaler of one window size and its batch of frames.
type window struct {
	size       image.Point
	up         sr.Upscaler
	srcs, dsts []*frame.Frame
}

// upscaler reuses tiles against its own references. Not safe for concurrent use.
type upscaler struct {
	b       *Backend
	g       geometry
	full    sr.Upscaler
	wins    []*window    // by recency of use, most recent last
	ref     *frame.Frame // input each tile's output was computed from
	refOut  *frame.Frame // output as last emitted
	have    bool         // ref and refOut are valid
	scene   int64
	changed []bool // tiles whose input changed beyond the threshold
	covered []bool // tiles upscaled this frame
	rects   []image.Rectangle
	jobs    []job
}

func newUpscaler(b *Backend, g geometry, full sr.Upscaler) *upscaler {
	return &upscaler{b: b, g: g, full: full,
		changed: make([]bool, g.nx*g.ny), covered: make([]bool, g.nx*g.ny),
		ref: frame.New(g.in.X, g.in.Y), refOut: frame.New(g.out.X, g.out.Y)}
}

// window returns the inner upscaler for windows of size, making it on first use and closing the
// least recently used one beyond maxWindows.
func (u *upscaler) window(size image.Point) (*window, error) {
	for i, w := range u.wins {
		if w.size == size {
			u.wins = append(append(u.wins[:i:i], u.wins[i+1:]...), w)
			return w, nil
		}
	}
	if len(u.wins) >= u.g.maxWindows {
		old := u.wins[0]
		u.wins = append(u.wins[:0], u.wins[1:]...)
		if err := old.up.Close(); err != nil {
			return nil, err
		}
	}
	spec := sr.Spec{In: size, Out: image.Pt(size.X*u.g.kx, size.Y*u.g.ky)}
	up, err := u.b.inner.NewUpscaler(spec)
	if err != nil {
		return nil, err
	}
	w := &window{size: size, up: up}
	for range max(1, up.BatchSize()) {
		w.srcs = append(w.srcs, frame.New(spec.In.X, spec.In.Y))
		w.dsts = append(w.dsts, frame.New(spec.Out.X, spec.Out.Y))
	}
	u.wins = append(u.wins, w)
	return w, nil
}

// BatchSize implements sr.Upscaler: frames are taken one at a time, in the order given.
func (u *upscaler) BatchSize() int { return 1 }

// Close implements sr.Upscaler. It is nil-safe and idempotent.
func (u *upscaler) Close() error {
	if u == nil || u.full == nil {
		return nil
	}
	err := u.full.Close()
	u.full = nil
	for _, w := range u.wins {
		if e := w.up.Close(); e != nil && err == nil {
			err = e
		}
	}
	u.wins = nil
	return err
}

// Upscale implements sr.Upscaler.
func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.full == nil, sr.Spec{In: u.g.in, Out: u.g.out}, dst, src); err != nil {
		return fmt.Errorf("tilereuse: %w", err)
	}
	for i, s := range src {
		if err := u.one(ctx, dst[i], s); err != nil {
			u.have = false // the references may be half updated
			return err
		}
	}
	return nil
}

func (u *upscaler) one(ctx context.Context, d, s *frame.Frame) error {
	g := &u.g
	if !u.have || s.Scene != u.scene {
		return u.whole(ctx, d, s)
	}
	u.markChanged(s)
	u.plan()
	cost := 0
	for _, r := range u.rects {
		cost += g.cost(r)
	}
	if float64(cost) > g.fullAbove*float64(g.in.X*g.in.Y) {
		return u.whole(ctx, d, s)
	}
	clear(u.covered)
	u.jobs = u.jobs[:0]
	for _, r := range u.rects {
		for ty := r.Min.Y; ty < r.Max.Y; ty++ {
			for tx := r.Min.X; tx < r.Max.X; tx++ {
				u.covered[ty*g.nx+tx] = true
			}
		}
		u.jobs = append(u.jobs, g.job(r))
	}
	// Same-size windows next to each other, for batches.
	slices.SortStableFunc(u.jobs, func(a, b job) int {
		if a.win.Dx() != b.win.Dx() {
			return a.win.Dx() - b.win.Dx()
		}
		return a.win.Dy() - b.win.Dy()
	})
	for i := 0; i < len(u.jobs); {
		w, err := u.window(u.jobs[i].win.Size())
		if err != nil {
			return err
		}
		k := 0
		for k < len(w.srcs) && i+k < len(u.jobs) && u.jobs[i+k].win.Size() == w.size {
			crop(w.srcs[k], s, u.jobs[i+k].win.Min)
			w.srcs[k].CopyMeta(s)
			k++
		}
		if err := w.up.Upscale(ctx, w.dsts[:k], w.srcs[:k]); err != nil {
			return err
		}
		for n := range k {
			u.paste(u.jobs[i+n], w.dsts[n])
		}
		i += k
	}
	computed := 0
	for _, j := range u.jobs {
		copyRect(u.ref, s, j.core)
		computed += j.r.Dx() * j.r.Dy()
	}
	copy(d.Pix, u.refOut.Pix)
	u.b.reused.Add(int64(g.nx*g.ny - computed))
	u.b.computed.Add(int64(computed))
	return nil
}

// whole upscales s entirely and makes it the reference for every tile.
func (u *upscaler) whole(ctx context.Context, d, s *frame.Frame) error {
	if err := u.full.Upscale(ctx, []*frame.Frame{d}, []*frame.Frame{s}); err != nil {
		return err
	}
	copy(u.refOut.Pix, d.Pix)
	copy(u.ref.Pix, s.Pix)
	u.have, u.scene = true, s.Scene
	u.b.full.Add(1)
	return nil
}

// plan covers the changed tiles with rectangles (u.rects, in tiles): first the runs of changed
// tiles of each row, runs of equal extent in consecutive rows joined; then, greedily, the two
// rectangles whose bounding box (with every other rectangle it overlaps) costs fewest window
// pixels against their separate windows are merged, while merging costs no more.
func (u *upscaler) plan() {
	g := &u.g
	u.rects = u.rects[:0]
	open := 0 // rects from open on may still grow downwards
	for ty := range g.ny {
		next := len(u.rects)
		for tx := 0; tx < g.nx; {
			if !u.changed[ty*g.nx+tx] {
				tx++
				continue
			}
			x0 := tx
			for tx < g.nx && u.changed[ty*g.nx+tx] {
				tx++
			}
			grown := false
			for i := open; i < next; i++ {
				if r := &u.rects[i]; r.Min.X == x0 && r.Max.X == tx && r.Max.Y == ty {
					r.Max.Y++
					grown = true
					break
				}
			}
			if !grown {
				u.rects = append(u.rects, image.Rect(x0, ty, tx, ty+1))
			}
		}
		// Rects that did not grow into this row are closed.
		for i := open; i < next; i++ {
			if u.rects[i].Max.Y <= ty {
				u.rects[open], u.rects[i] = u.rects[i], u.rects[open]
				open++
			}
		}
	}
	var group, bestGroup []int
	for {
		best, bestSave := image.Rectangle{}, -1
		for i := range u.rects {
			for j := i + 1; j < len(u.rects); j++ {
				m := u.rects[i].Union(u.rects[j])
				group = append(group[:0], i, j)
				for grew := true; grew; {
					grew = false
					for k, r := range u.rects {
						if !slices.Contains(group, k) && r.Overlaps(m) {
							m = m.Union(r)
							group = append(group, k)
							grew = true
						}
					}
				}
				sum := 0
				for _, k := range group {
					sum += g.cost(u.rects[k])
				}
				if save := sum - g.cost(m); save >= 0 && save > bestSave {
					best, bestSave = m, save
					bestGroup = append(bestGroup[:0], group...)
				}
			}
		}
		if bestSave < 0 {
			return
		}
		slices.Sort(bestGroup)
		for n := len(bestGroup) - 1; n >= 0; n-- {
			k := bestGroup[n]
			u.rects = append(u.rects[:k], u.rects[k+1:]...)
		}
		u.rects = append(u.rects, best)
	}
}

// markChanged sets u.changed for every tile: a tile changed when any of its blocks' mean absolute
// difference from the reference, over the three planes, exceeds the threshold.
func (u *upscaler) markChanged(s *frame.Frame) {
	g := &u.g
	for ty := range g.ny {
		for tx := range g.nx {
			r := image.Rect(tx*g.tile, ty*g.tile, min((tx+1)*g.tile, g.in.X), min((ty+1)*g.tile, g.in.Y))
			u.changed[ty*g.nx+tx] = u.tileChanged(s, r)
		}
	}
}

func (u *upscaler) tileChanged(s *frame.Frame, r image.Rectangle) bool {
	return changed(s, u.ref, r, u.g.block, u.g.threshold)
}

// changed reports whether any block x block block of rectangle r (the last ones smaller) has a
// mean absolute difference between s and ref, over the three planes, above threshold.
func changed(s, ref *frame.Frame, r image.Rectangle, block int, threshold float64) bool {
	w := s.W
	for by := r.Min.Y; by < r.Max.Y; by += block {
		bh := min(block, r.Max.Y-by)
		for bx := r.Min.X; bx < r.Max.X; bx += block {
			bw := min(block, r.Max.X-bx)
			limit := float32(threshold * float64(3*bw*bh))
			var sum float32
			for c := range 3 {
				sp, rp := s.Plane(c), ref.Plane(c)
				for y := by; y < by+bh; y++ {
					a, b := sp[y*w+bx:y*w+bx+bw], rp[y*w+bx:y*w+bx+bw]
					for i, v := range a {
						d := v - b[i]
						if d < 0 {
							d = -d
						}
						sum += d
					}
				}
			}
			if sum > limit {
				return true
			}
		}
	}
	return false
}

// paste writes the output of job j's window: the core's pixels replace the reference output, and
// within the feather distance around the core, pixels of reused tiles are blended towards the
// fresh output.
func (u *upscaler) paste(j job, out *frame.Frame) {
	g := &u.g
	cx0, cx1, cy0, cy1 := j.core.Min.X*g.kx, j.core.Max.X*g.kx, j.core.Min.Y*g.ky, j.core.Max.Y*g.ky
	wx0, wy0 := j.win.Min.X*g.kx, j.win.Min.Y*g.ky
	// Area of influence: the core plus the feather, inside the window.
	fx, fy := int(g.featherX+0.5), int(g.featherY+0.5)
	ax0, ax1 := max(cx0-fx, wx0), min(cx1+fx, wx0+out.W)
	ay0, ay1 := max(cy0-fy, wy0), min(cy1+fy, wy0+out.H)
	W := g.out.X
	for c := range 3 {
		dp, wp := u.refOut.Plane(c), out.Plane(c)
		for y := ay0; y < ay1; y++ {
			drow := dp[y*W : (y+1)*W]
			wrow := wp[(y-wy0)*out.W : (y-wy0+1)*out.W]
			inCoreY := y >= cy0 && y < cy1
			if inCoreY {
				copy(drow[cx0:cx1], wrow[cx0-wx0:cx1-wx0])
			}
			ay := ramp(dist(y, cy0, cy1), g.featherY)
			if ay == 0 {
				continue
			}
			rowTiles := g.tileOfY[y] * g.nx
			for x := ax0; x < ax1; x++ {
				if inCoreY && x >= cx0 && x < cx1 {
					x = cx1 - 1
					continue
				}
				if u.covered[rowTiles+g.tileOfX[x]] {
					continue // another window's own pixel
				}
				a := ay * ramp(dist(x, cx0, cx1), g.featherX)
				if a > 0 {
					drow[x] += a * (wrow[x-wx0] - drow[x])
				}
			}
		}
	}
}

// dist is how many pixels v lies outside [lo, hi) (0 inside).
func dist(v, lo, hi int) int {
	switch {
	case v < lo:
		return lo - v
	case v >= hi:
		return v - hi + 1
	}
	return 0
}

// ramp is the feather weight at d pixels outside the tile: 1 at the tile's edge falling linearly to
// 0 at f pixels.
func ramp(d int, f float64) float32 {
	if d == 0 {
		return 1
	}
	if f <= 0 {
		return 0
	}
	return float32(max(0, min(1, (f-float64(d)+0.5)/f)))
}

// crop copies the dst-sized rectangle of src at o into dst.
func crop(dst, src *frame.Frame, o image.Point) {
	for c := range 3 {
		dp, sp := dst.Plane(c), src.Plane(c)
		for y := range dst.H {
			copy(dp[y*dst.W:(y+1)*dst.W], sp[(o.Y+y)*src.W+o.X:])
		}
	}
}

// copyRect copies rectangle r of src into the same place in dst (same size).
func copyRect(dst, src *frame.Frame, r image.Rectangle) {
	for c := range 3 {
		dp, sp := dst.Plane(c), src.Plane(c)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			copy(dp[y*dst.W+r.Min.X:y*dst.W+r.Max.X], sp[y*src.W+r.Min.X:y*src.W+r.Max.X])
		}
	}
}
