package av

/*
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

// ugcsr_yuv_planes fills the layout of fmt and returns 1 when it is planar YUV with one component
// per plane, 8 to 16 bits, native little-endian words, no alpha; 0 otherwise.
static int ugcsr_yuv_planes(int fmt, int *sx, int *sy, int *depth) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	if (!d || d->nb_components != 3 || !(d->flags & AV_PIX_FMT_FLAG_PLANAR)) return 0;
	if (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_BE | AV_PIX_FMT_FLAG_ALPHA | AV_PIX_FMT_FLAG_HWACCEL |
			AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_FLOAT)) return 0;
	int bits = d->comp[0].depth;
	if (bits < 8 || bits > 16) return 0;
	for (int i = 0; i < 3; i++) {
		const AVComponentDescriptor *c = &d->comp[i];
		if (c->plane != i || c->shift != 0 || c->offset != 0 || c->depth != bits || c->step != (bits > 8 ? 2 : 1)) return 0;
	}
	*sx = d->log2_chroma_w;
	*sy = d->log2_chroma_h;
	*depth = bits;
	return 1;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
)

// PlanesOf describes pf when it is planar YUV that frame.YUV can hold (av_pix_fmt_desc_get), and
// returns the zero Planes otherwise.
func PlanesOf(pf astiav.PixelFormat) media.Planes {
	var sx, sy, depth C.int
	if C.ugcsr_yuv_planes(C.int(pf), &sx, &sy, &depth) == 0 {
		return media.Planes{}
	}
	return media.Planes{ChromaShiftX: int(sx), ChromaShiftY: int(sy), Depth: int(depth)}
}

// ReadPlanes copies the planes of an AVFrame in y's format and size into y. Words are copied as
// bytes: frame.YUV's uint16 samples are little-endian formats read on a little-endian machine.
func ReadPlanes(y *frame.YUV, src *astiav.Frame) error {
	return copyPlanes(y, src, false)
}

// WritePlanes copies y into the planes of an AVFrame of its format and size, which must be
// writable (MakeWritable).
func WritePlanes(dst *astiav.Frame, y *frame.YUV) error {
	return copyPlanes(y, dst, true)
}

func copyPlanes(y *frame.YUV, f *astiav.Frame, toFrame bool) error {
	if PlanesOf(f.PixelFormat()) != y.Planes {
		return fmt.Errorf("%s frame is not in the format %+v", f.PixelFormat(), y.Planes)
	}
	if w, h := y.PlaneSize(0); f.Width() != w || f.Height() != h {
		return fmt.Errorf("%dx%d frame is not %dx%d", f.Width(), f.Height(), w, h)
	}
	cf := cFrame(f)
	size := 1
	if y.Planes.Depth > 8 {
		size = 2
	}
	for c := 0; c < 3; c++ {
		w, h := y.PlaneSize(c)
		stride := int(cf.linesize[c])
		// A view of the frame's buffer, valid for this call: rows of w samples, stride bytes apart.
		data := unsafe.Slice((*byte)(cf.data[c]), stride*(h-1)+w*size)
		var pix []byte
		if size == 1 {
			pix = y.Plane8(c)
		} else {
			p := y.Plane16(c)
			pix = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(p))), 2*len(p))
		}
		for r := 0; r < h; r++ {
			row := data[r*stride : r*stride+w*size]
			mine := pix[r*w*size : (r+1)*w*size]
			if toFrame {
				copy(row, mine)
			} else {
				copy(mine, row)
			}
		}
	}
	return nil
}
