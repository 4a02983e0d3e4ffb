package decode

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/av"
)

// toFloat converts decoded AVFrames to planar float RGB with swscale, once per frame. It is rebuilt
// when the input size or pixel format changes mid-stream; a frame whose size changed is scaled to
// the destination size (the stream's first size), so backends keep the size they were told.
type toFloat struct {
	s          *av.Scaler
	w, h       int
	fmt        astiav.PixelFormat
	dw, dh     int
	colorspace int
	fullRange  bool
}

func (t *toFloat) free() {
	t.s.Free()
	t.s = nil
}

// convert writes src into dst, which must be src's size.
func (t *toFloat) convert(dst *frame.Frame, src *astiav.Frame, colorspace int, fullRange bool) error {
	w, h, pf := src.Width(), src.Height(), src.PixelFormat()
	if av.IsRGB(pf) {
		fullRange = true
	}
	if t.s == nil || t.w != w || t.h != h || t.fmt != pf || t.colorspace != colorspace || t.fullRange != fullRange ||
		t.dw != dst.W || t.dh != dst.H {
		t.free()
		s, err := av.NewToFloat(w, h, pf, dst.W, dst.H, colorspace, fullRange)
		if err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		t.s = s
		t.w, t.h, t.fmt, t.colorspace, t.fullRange, t.dw, t.dh = w, h, pf, colorspace, fullRange, dst.W, dst.H
	}
	if off, ok := packedRGB[pf]; ok && w == dst.W && h == dst.H {
		convertPacked(dst, src, off)
		return nil
	}
	if n := t.s.ToFloat(src, dst.Plane(0), dst.Plane(1), dst.Plane(2), dst.W); n != dst.H {
		return fmt.Errorf("decode: swscale wrote %d of %d rows", n, dst.H)
	}
	return nil
}

// packedRGB gives the byte offsets of R, G, B and the pixel size of packed 8-bit RGB formats.
// These (PNG, BMP, most images) are converted in Go, exactly v/255: swscale's generic RGB path goes
// through YUV and would move values by a level or two.
var packedRGB = map[astiav.PixelFormat][4]int{
	astiav.PixelFormatRgb24: {0, 1, 2, 3}, astiav.PixelFormatBgr24: {2, 1, 0, 3},
	astiav.PixelFormatRgba: {0, 1, 2, 4}, astiav.PixelFormatBgra: {2, 1, 0, 4},
	astiav.PixelFormatArgb: {1, 2, 3, 4}, astiav.PixelFormatAbgr: {3, 2, 1, 4},
	astiav.PixelFormatRgb0: {0, 1, 2, 4}, astiav.PixelFormatBgr0: {2, 1, 0, 4},
}

// alphaAt is the byte offset of alpha in the packed formats that have it.
var alphaAt = map[astiav.PixelFormat]int{astiav.PixelFormatRgba: 3, astiav.PixelFormatBgra: 3, astiav.PixelFormatArgb: 0, astiav.PixelFormatAbgr: 0}

func convertPacked(dst *frame.Frame, src *astiav.Frame, off [4]int) {
	stride := src.Linesize()[0]
	data := av.Plane(src, 0)
	r, g, b := dst.Plane(0), dst.Plane(1), dst.Plane(2)
	for y := 0; y < dst.H; y++ {
		row := data[y*stride:]
		for x := 0; x < dst.W; x++ {
			p := row[x*off[3]:]
			i := y*dst.W + x
			r[i], g[i], b[i] = float32(p[off[0]])/255, float32(p[off[1]])/255, float32(p[off[2]])/255
		}
	}
	at, ok := alphaAt[src.PixelFormat()]
	if !ok {
		return
	}
	a := dst.SetAlpha()
	for y := 0; y < dst.H; y++ {
		row := data[y*stride:]
		for x := 0; x < dst.W; x++ {
			a[y*dst.W+x] = float32(row[x*off[3]+at]) / 255
		}
	}
}

// carriesAlpha reports a pixel format whose alpha the decoder carries (Frame.Alpha): packed 8-bit
// RGBA, as PNG and most images with alpha hold it.
func carriesAlpha(pf astiav.PixelFormat) bool {
	_, ok := alphaAt[pf]
	return ok
}
