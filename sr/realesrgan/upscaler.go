package realesrgan

import (
	"context"
	"fmt"
	"image"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// tile is one cell of the grid: input pixels [x0,x0+w) x [y0,y0+h), read with Prepadding around.
type tile struct {
	x0, y0, w, h int
	// xs and ys map the padded tile's columns and rows to image columns and rows (reflected).
	xs, ys []int
	// contiguous is true when xs is one run x, x+1, ..., so rows can be copied whole.
	contiguous bool
	buf        *tileBuf
}

// tileBuf is the input/output tensor pair of one padded tile shape, reused for every frame. It
// holds n tiles: the batch dimension of both tensors.
type tileBuf struct {
	pw, ph  int // padded input size
	n       int
	in, out *ort.Tensor
}

// reflect maps i to [0,n) by mirroring about the edge pixels without repeating them (ncnn's and
// numpy's "reflect"): -1 -> 1, n -> n-2. Indices further out keep bouncing, so inputs smaller than
// the padding still work.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// grid cuts a w x h input into size x size tiles, row by row; the last row and column hold the
// remainder, as in realesrgan-ncnn-vulkan.
func grid(w, h, size, pad int) []tile {
	var tiles []tile
	for y0 := 0; y0 < h; y0 += size {
		for x0 := 0; x0 < w; x0 += size {
			t := tile{x0: x0, y0: y0, w: min(size, w-x0), h: min(size, h-y0)}
			t.xs = make([]int, t.w+2*pad)
			for i := range t.xs {
				t.xs[i] = reflect(x0-pad+i, w)
			}
			t.ys = make([]int, t.h+2*pad)
			for i := range t.ys {
				t.ys[i] = reflect(y0-pad+i, h)
			}
			t.contiguous = x0 >= pad && x0+t.w+pad <= w
			tiles = append(tiles, t)
		}
	}
	return tiles
}

var _ sr.Upscaler = (*upscaler)(nil)

// upscaler is one worker's session, tile tensors and scratch frames.
type upscaler struct {
	b      *Backend
	s      *ort.Session
	spec   sr.Spec
	scale  int
	tiles  []tile
	bufs   []*tileBuf
	frames int // frames per call: BatchSize
	// natives and rs are set when Spec.Out is not scale*Spec.In and the Go resamples: the model
	// writes natives[i] for the call's frame i, rs resamples it to the destination.
	natives []*frame.Frame
	rs      *resample.Resizer
	// graph is set when the session's model ends with graphResize: the frame is one tile, size
	// holds the output shape, and the output tensor is the destination's pixels.
	graph bool
	size  *ort.Tensor
	ins   []*ort.Tensor
	outs  [1]*ort.Tensor
	batch []slot // the tiles of the run being filled
}

// slot is one tile of a batched run: tile tiles[tile] of the call's frame frame.
type slot struct{ frame, tile int }

// newUpscaler cuts spec.In into size x size tiles and runs up to batch tiles of one shape at once;
// when a frame holds fewer than batch tiles, a call takes batch/tiles frames. With graph, s runs
// the model with graphResize and size must cover the frame.
func newUpscaler(b *Backend, s *ort.Session, spec sr.Spec, size, batch int, graph bool) (_ *upscaler, err error) {
	u := &upscaler{b: b, s: s, spec: spec, scale: b.scale, graph: graph}
	defer func() {
		if err != nil {
			u.closeBufs()
		}
	}()
	u.tiles = grid(spec.In.X, spec.In.Y, size, Prepadding)
	if graph && len(u.tiles) != 1 {
		return nil, fmt.Errorf("realesrgan: internal error: graph resize of %d tiles", len(u.tiles))
	}
	u.frames = max(1, batch/len(u.tiles))
	perShape := map[image.Point]int{}
	for _, t := range u.tiles {
		perShape[image.Pt(len(t.xs), len(t.ys))]++
	}
	byShape := map[image.Point]*tileBuf{}
	for i := range u.tiles {
		t := &u.tiles[i]
		pw, ph := len(t.xs), len(t.ys)
		tb := byShape[image.Pt(pw, ph)]
		if tb == nil {
			tb = &tileBuf{pw: pw, ph: ph, n: max(1, min(batch, perShape[image.Pt(pw, ph)]*u.frames))}
			u.bufs = append(u.bufs, tb)
			byShape[image.Pt(pw, ph)] = tb
			s, n := int64(u.scale), int64(tb.n)
			if tb.in, err = ort.NewTensor(ort.Float32, n, 3, int64(ph), int64(pw)); err != nil {
				return nil, fmt.Errorf("realesrgan: %w", err)
			}
			out := []int64{n, 3, s * int64(ph), s * int64(pw)}
			if graph {
				out = []int64{n, 3, int64(spec.Out.Y), int64(spec.Out.X)}
				if u.size, err = ort.NewTensor(ort.Int64, 4); err != nil {
					return nil, fmt.Errorf("realesrgan: %w", err)
				}
				copy(u.size.Int64(), out)
			}
			if tb.out, err = ort.NewTensor(ort.Float32, out...); err != nil {
				return nil, fmt.Errorf("realesrgan: %w", err)
			}
		}
		t.buf = tb
	}
	if nat := spec.In.Mul(u.scale); nat != spec.Out && !graph {
		for range u.frames {
			u.natives = append(u.natives, frame.New(nat.X, nat.Y))
		}
		if u.rs, err = resample.NewResizer(resample.Lanczos, nat.X, nat.Y, spec.Out.X, spec.Out.Y); err != nil {
			return nil, fmt.Errorf("realesrgan: %w", err)
		}
	}
	return u, nil
}

// BatchSize implements sr.Upscaler: Batch divided by the tiles of a frame, at least 1.
func (u *upscaler) BatchSize() int { return u.frames }

// Upscale implements sr.Upscaler. Tiles are run shape by shape, each run taking up to the shape's
// batch of tiles from the frames of the call in raster order; a run that is not full (the last of a
// shape) still computes every slot, the unused ones on stale input. More frames than BatchSize are
// taken BatchSize at a time.
func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.s == nil, u.spec, dst, src); err != nil {
		return fmt.Errorf("realesrgan: %w", err)
	}
	for len(src) > 0 {
		k := min(len(src), u.frames)
		if err := u.upscale(ctx, dst[:k], src[:k]); err != nil {
			return err
		}
		dst, src = dst[k:], src[k:]
	}
	return nil
}

// upscale runs at most u.frames frames.
func (u *upscaler) upscale(ctx context.Context, dst, src []*frame.Frame) error {
	target := dst
	if u.natives != nil {
		target = u.natives[:len(dst)]
	}
	for _, tb := range u.bufs {
		u.batch = u.batch[:0]
		for i := range src {
			for j := range u.tiles {
				if u.tiles[j].buf != tb {
					continue
				}
				u.load(&u.tiles[j], len(u.batch), src[i])
				u.batch = append(u.batch, slot{i, j})
				if len(u.batch) == tb.n {
					if err := u.run(ctx, tb, target); err != nil {
						return err
					}
				}
			}
		}
		if len(u.batch) > 0 {
			if err := u.run(ctx, tb, target); err != nil {
				return err
			}
		}
	}
	if u.natives != nil {
		for i, d := range dst {
			if err := u.rs.Resize(d, u.natives[i]); err != nil {
				return fmt.Errorf("realesrgan: %w", err)
			}
		}
	}
	return nil
}

// run runs tb's tensors, whose first len(u.batch) slots were loaded, and stores those slots' tiles
// into the frames of target.
func (u *upscaler) run(ctx context.Context, tb *tileBuf, target []*frame.Frame) error {
	u.ins = append(u.ins[:0], tb.in)
	if u.graph {
		u.ins = append(u.ins, u.size)
	}
	u.outs[0] = tb.out
	if err := u.s.Run(ctx, u.ins, u.outs[:]); err != nil {
		t := &u.tiles[u.batch[0].tile]
		return fmt.Errorf("realesrgan: %s: tile %d,%d: %w", u.b.name, t.x0, t.y0, err)
	}
	u.b.tiles.Add(int64(len(u.batch)))
	for k, sl := range u.batch {
		if u.graph {
			u.storeResized(tb, k, target[sl.frame])
			continue
		}
		u.store(&u.tiles[sl.tile], k, target[sl.frame])
	}
	u.batch = u.batch[:0]
	return nil
}

// load copies the padded tile t of src into slot k of its input tensor (the model sees x/255 of
// 8-bit data, which is what frame samples already are).
func (u *upscaler) load(t *tile, k int, src *frame.Frame) {
	pw, ph := t.buf.pw, t.buf.ph
	in := t.buf.in.Float32()[k*3*pw*ph:][:3*pw*ph]
	for c := 0; c < 3; c++ {
		plane := src.Plane(c)
		for gy, sy := range t.ys {
			row := plane[sy*src.W : (sy+1)*src.W]
			out := in[(c*ph+gy)*pw : (c*ph+gy+1)*pw]
			if t.contiguous {
				copy(out, row[t.xs[0]:])
				continue
			}
			for gx, sx := range t.xs {
				out[gx] = row[sx]
			}
		}
	}
}

// store crops the padding off slot k of t's output tensor and writes it into dst quantized like
// realesrgan-ncnn-vulkan's postproc: v*255+0.5, truncated, clamped to 0..255, then /255.
func (u *upscaler) store(t *tile, k int, dst *frame.Frame) {
	s := u.scale
	spw, sph := s*t.buf.pw, s*t.buf.ph
	out := t.buf.out.Float32()[k*3*spw*sph:][:3*spw*sph]
	off := s * Prepadding
	w := s * t.w
	for c := 0; c < 3; c++ {
		plane := dst.Plane(c)
		for y := 0; y < s*t.h; y++ {
			src := out[(c*sph+off+y)*spw+off:][:w]
			row := plane[(s*t.y0+y)*dst.W+s*t.x0:][:w]
			for x, v := range src {
				row[x] = quantize(v)
			}
		}
	}
}

// storeResized copies slot k of tb's output tensor, which graphResize made the requested size,
// quantized and clamped, into dst.
func (u *upscaler) storeResized(tb *tileBuf, k int, dst *frame.Frame) {
	n := dst.W * dst.H
	out := tb.out.Float32()[k*3*n:][:3*n]
	for c := 0; c < 3; c++ {
		copy(dst.Plane(c)[:n], out[c*n:(c+1)*n])
	}
}

func quantize(v float32) float32 {
	q := v*255 + 0.5
	switch {
	case !(q > 0): // also NaN
		return 0
	case q >= 255:
		return 1
	}
	return float32(int32(q)) / 255
}

// Close implements sr.Upscaler: it frees the tile tensors, then the session. It is nil-safe and
// idempotent.
func (u *upscaler) Close() error {
	if u == nil || u.s == nil {
		return nil
	}
	u.closeBufs()
	err := u.s.Close()
	u.s = nil
	return err
}

func (u *upscaler) closeBufs() {
	for _, tb := range u.bufs {
		tb.in.Close()
		tb.out.Close()
	}
	u.size.Close()
	u.size = nil
	u.bufs, u.natives, u.rs = nil, nil, nil
}
