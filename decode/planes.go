package decode

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/av"
)

// toPlanes copies decoded AVFrames into frames in the source's own planar YUV format
// (Options.SourceFormat). A frame whose size or pixel format differs from the stream's first is
// first scaled to it with swscale (Lanczos, YUV to YUV: no RGB), so backends keep the size and
// format they were told.
type toPlanes struct {
	pf   astiav.PixelFormat // the stream's format and size
	w, h int
	sws  *astiav.SoftwareScaleContext // for frames that differ (nil until one comes)
	from [3]int                       // the width, height and format sws converts from
	tmp  *astiav.Frame
}

func (t *toPlanes) free() {
	if t.sws != nil {
		t.sws.Free()
		t.sws = nil
	}
	if t.tmp != nil {
		t.tmp.Free()
		t.tmp = nil
	}
}

// convert writes src into dst, a YUV frame of the stream's format and size.
func (t *toPlanes) convert(dst *frame.Frame, src *astiav.Frame) error {
	if src.PixelFormat() == t.pf && src.Width() == t.w && src.Height() == t.h {
		return av.ReadPlanes(dst.YUV, src)
	}
	from := [3]int{src.Width(), src.Height(), int(src.PixelFormat())}
	if t.sws == nil || t.from != from {
		t.free()
		sws, err := astiav.CreateSoftwareScaleContext(src.Width(), src.Height(), src.PixelFormat(), t.w, t.h, t.pf,
			astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagLanczos))
		if err != nil {
			return fmt.Errorf("decode: swscale %s %dx%d to %s %dx%d: %w", src.PixelFormat(), src.Width(), src.Height(), t.pf, t.w, t.h, err)
		}
		t.sws, t.from = sws, from
		t.tmp = astiav.AllocFrame()
		t.tmp.SetWidth(t.w)
		t.tmp.SetHeight(t.h)
		t.tmp.SetPixelFormat(t.pf)
		if err := t.tmp.AllocBuffer(0); err != nil {
			return fmt.Errorf("decode: frame buffer: %w", err)
		}
	}
	if err := t.sws.ScaleFrame(src, t.tmp); err != nil {
		return fmt.Errorf("decode: swscale: %w", err)
	}
	return av.ReadPlanes(dst.YUV, t.tmp)
}
