package frame

import "github.com/ugcsr/ugcsr/media"

// YUV holds a picture's samples in the source's own planar YUV format, for backends that resample
// it as it is (sr.Caps.SourceFormat): planes Y, Cb, Cr back to back in one allocation, each row
// exactly its plane's width (no padding), in Pix8 for 8-bit formats and in Pix16 for deeper ones
// (the low Depth bits of each word).
type YUV struct {
	Planes media.Planes
	Pix8   []uint8
	Pix16  []uint16
	w, h   int
}

// NewYUV allocates a w x h frame in the planar YUV format p, outside any pool. Its Pix is nil.
func NewYUV(w, h int, p media.Planes) *Frame {
	y := &YUV{Planes: p, w: w, h: h}
	n := 0
	for c := 0; c < 3; c++ {
		pw, ph := p.Size(c, w, h)
		n += pw * ph
	}
	if p.Depth > 8 {
		y.Pix16 = make([]uint16, n)
	} else {
		y.Pix8 = make([]uint8, n)
	}
	return &Frame{W: w, H: h, YUV: y}
}

// PlaneSize returns the width and height of plane c (0 Y, 1 Cb, 2 Cr); the width is its stride.
func (y *YUV) PlaneSize(c int) (int, int) { return y.Planes.Size(c, y.w, y.h) }

// span returns where plane c starts in Pix8 or Pix16 and its length.
func (y *YUV) span(c int) (int, int) {
	off := 0
	for i := 0; i < c; i++ {
		w, h := y.PlaneSize(i)
		off += w * h
	}
	w, h := y.PlaneSize(c)
	return off, w * h
}

// Plane8 returns plane c of an 8-bit frame. The slice aliases Pix8.
func (y *YUV) Plane8(c int) []uint8 {
	o, n := y.span(c)
	return y.Pix8[o : o+n : o+n]
}

// Plane16 returns plane c of a deeper frame. The slice aliases Pix16.
func (y *YUV) Plane16(c int) []uint16 {
	o, n := y.span(c)
	return y.Pix16[o : o+n : o+n]
}
