package decode

/*
#cgo pkg-config: libavutil libswscale
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

// ugcsr_sws_to_float converts a decoded frame into three float32 planes (R, G, B) of w*h values in
// Go memory. The Go pointers are only used during the call.
static int ugcsr_sws_to_float(struct SwsContext *c, const AVFrame *src, float *r, float *g, float *b, int w) {
	// w is the destination width: the planes are w*h floats with no padding.
	uint8_t *dst[4] = {(uint8_t *)g, (uint8_t *)b, (uint8_t *)r, NULL};
	int stride[4] = {w * 4, w * 4, w * 4, 0};
	return sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst, stride);
}

static struct SwsContext *ugcsr_sws_new(int w, int h, int fmt, int dw, int dh, int dst_fmt, int colorspace, int full_range) {
	struct SwsContext *c = sws_getContext(w, h, fmt, dw, dh, dst_fmt,
		SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
	if (!c) return NULL;
	int *inv, src_range, *tbl, dst_range, bri, con, sat;
	if (sws_getColorspaceDetails(c, &inv, &src_range, &tbl, &dst_range, &bri, &con, &sat) >= 0) {
		const int *coef = sws_getCoefficients(colorspace);
		sws_setColorspaceDetails(c, coef, full_range, coef, 1, bri, con, sat);
	}
	return c;
}

static int ugcsr_frame_is_rgb(int fmt) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
)

// toFloat converts decoded AVFrames to planar float RGB with swscale, once per frame. It is rebuilt
// when the input size or pixel format changes mid-stream; a frame whose size changed is scaled to
// the destination size (the stream's first size), so backends keep the size they were told.
type toFloat struct {
	c          *C.struct_SwsContext
	w, h, fmt  int
	dw, dh     int
	colorspace int
	fullRange  bool
}

func (t *toFloat) free() {
	if t.c != nil {
		C.sws_freeContext(t.c)
		t.c = nil
	}
}

// convert writes src into dst, which must be src's size.
func (t *toFloat) convert(dst *frame.Frame, src *astiav.Frame, colorspace int, fullRange bool) error {
	av := (*C.AVFrame)(src.UnsafePointer())
	w, h, pf := int(av.width), int(av.height), int(av.format)
	rgb := C.ugcsr_frame_is_rgb(C.int(pf)) != 0
	if rgb {
		fullRange = true
	}
	if t.c == nil || t.w != w || t.h != h || t.fmt != pf || t.colorspace != colorspace || t.fullRange != fullRange ||
		t.dw != dst.W || t.dh != dst.H {
		t.free()
		fr := C.int(0)
		if fullRange {
			fr = 1
		}
		t.c = C.ugcsr_sws_new(C.int(w), C.int(h), C.int(pf), C.int(dst.W), C.int(dst.H), C.AV_PIX_FMT_GBRPF32LE, C.int(colorspace), fr)
		if t.c == nil {
			return fmt.Errorf("decode: swscale cannot convert %s %dx%d to RGB", astiav.PixelFormat(pf), w, h)
		}
		t.w, t.h, t.fmt, t.colorspace, t.fullRange, t.dw, t.dh = w, h, pf, colorspace, fullRange, dst.W, dst.H
	}
	r, g, b := dst.Plane(0), dst.Plane(1), dst.Plane(2)
	if off, ok := packedRGB[astiav.PixelFormat(pf)]; ok && w == dst.W && h == dst.H {
		convertPacked(dst, av, off)
		return nil
	}
	n := C.ugcsr_sws_to_float(t.c, av, (*C.float)(unsafe.Pointer(&r[0])), (*C.float)(unsafe.Pointer(&g[0])),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(dst.W))
	if int(n) != dst.H {
		return fmt.Errorf("decode: swscale wrote %d of %d rows", int(n), dst.H)
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

func convertPacked(dst *frame.Frame, av *C.AVFrame, off [4]int) {
	stride := int(av.linesize[0])
	data := unsafe.Slice((*byte)(av.data[0]), stride*dst.H)
	r, g, b := dst.Plane(0), dst.Plane(1), dst.Plane(2)
	for y := 0; y < dst.H; y++ {
		row := data[y*stride:]
		for x := 0; x < dst.W; x++ {
			p := row[x*off[3]:]
			i := y*dst.W + x
			r[i], g[i], b[i] = float32(p[off[0]])/255, float32(p[off[1]])/255, float32(p[off[2]])/255
		}
	}
}
