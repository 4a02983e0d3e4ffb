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

// tileBuf is the input/output tensor pair of one padded tile shape, reused for every frame.
type tileBuf struct {
	pw, ph  int // padded input size
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

// upscaler is one worker's session, tile tensors and scratch frame.
type upscaler struct {
	b     *Backend
	s     *ort.Session
	spec  sr.Spec
	scale int
	tiles []tile
	bufs  []*tileBuf
	// native and rs are set when Spec.Out is not scale*Spec.In: the model writes native, rs
	// resamples it to the destination.
	native *frame.Frame
	rs     *resample.Resizer
	ins    [1]*ort.Tensor
	outs   [1]*ort.Tensor
}

func newUpscaler(b *Backend, s *ort.Session, spec sr.Spec, size int) (_ *upscaler, err error) {
	u := &upscaler{b: b, s: s, spec: spec, scale: b.scale}
	defer func() {
		if err != nil {
			u.closeBufs()
		}
	}()
	u.tiles = grid(spec.In.X, spec.In.Y, size, Prepadding)
	byShape := map[image.Point]*tileBuf{}
	for i := range u.tiles {
		t := &u.tiles[i]
		pw, ph := len(t.xs), len(t.ys)
		tb := byShape[image.Pt(pw, ph)]
		if tb == nil {
			tb = &tileBuf{pw: pw, ph: ph}
			u.bufs = append(u.bufs, tb)
			byShape[image.Pt(pw, ph)] = tb
			s := int64(u.scale)
			if tb.in, err = ort.NewTensor(ort.Float32, 1, 3, int64(ph), int64(pw)); err != nil {
				return nil, fmt.Errorf("realesrgan: %w", err)
			}
			if tb.out, err = ort.NewTensor(ort.Float32, 1, 3, s*int64(ph), s*int64(pw)); err != nil {
				return nil, fmt.Errorf("realesrgan: %w", err)
			}
		}
		t.buf = tb
	}
	if nat := spec.In.Mul(u.scale); nat != spec.Out {
		u.native = frame.New(nat.X, nat.Y)
		if u.rs, err = resample.NewResizer(resample.Lanczos, nat.X, nat.Y, spec.Out.X, spec.Out.Y); err != nil {
			return nil, fmt.Errorf("realesrgan: %w", err)
		}
	}
	return u, nil
}

// BatchSize implements sr.Upscaler.
func (u *upscaler) BatchSize() int { return 1 }

// Upscale implements sr.Upscaler: every frame is run tile by tile, in raster order.
func (u *upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.s == nil, u.spec, dst, src); err != nil {
		return fmt.Errorf("realesrgan: %w", err)
	}
	for i, f := range src {
		d := dst[i]
		target := d
		if u.native != nil {
			target = u.native
		}
		for j := range u.tiles {
			t := &u.tiles[j]
			u.load(t, f)
			u.ins[0], u.outs[0] = t.buf.in, t.buf.out
			if err := u.s.Run(ctx, u.ins[:], u.outs[:]); err != nil {
				return fmt.Errorf("realesrgan: %s: tile %d,%d: %w", u.b.name, t.x0, t.y0, err)
			}
			u.b.tiles.Add(1)
			u.store(t, target)
		}
		if u.native != nil {
			if err := u.rs.Resize(d, u.native); err != nil {
				return fmt.Errorf("realesrgan: %w", err)
			}
		}
	}
	return nil
}

// load copies the padded tile t of src into its input tensor (the model sees x/255 of 8-bit data,
// which is what frame samples already are).
func (u *upscaler) load(t *tile, src *frame.Frame) {
	in := t.buf.in.Float32()
	pw, ph := t.buf.pw, t.buf.ph
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

// store crops the padding off t's output tensor and writes it into dst quantized like
// realesrgan-ncnn-vulkan's postproc: v*255+0.5, truncated, clamped to 0..255, then /255.
func (u *upscaler) store(t *tile, dst *frame.Frame) {
	s := u.scale
	out := t.buf.out.Float32()
	spw, sph := s*t.buf.pw, s*t.buf.ph
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
	u.bufs, u.native, u.rs = nil, nil, nil
}
