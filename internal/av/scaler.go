package av

/*
#cgo pkg-config: libavutil libswscale
#include <libavutil/frame.h>
#include <libswscale/swscale.h>

// ugcsr_sws_new makes a context and gives its YUV side the coefficients of colorspace (SWS_CS_*)
// and the range full_range; the RGB side is always full range.
static struct SwsContext *ugcsr_sws_new(int w, int h, int fmt, int dw, int dh, int dst_fmt, int flags,
		int colorspace, int src_full, int dst_full) {
	struct SwsContext *c = sws_getContext(w, h, fmt, dw, dh, dst_fmt, flags, NULL, NULL, NULL);
	if (!c) return NULL;
	int *inv, src_range, *tbl, dst_range, bri, con, sat;
	if (sws_getColorspaceDetails(c, &inv, &src_range, &tbl, &dst_range, &bri, &con, &sat) >= 0) {
		const int *coef = sws_getCoefficients(colorspace);
		sws_setColorspaceDetails(c, coef, src_full, coef, dst_full, bri, con, sat);
	}
	return c;
}

// ugcsr_sws_to_float converts src into three float planes (R, G, B) of w*h values with no padding.
static int ugcsr_sws_to_float(struct SwsContext *c, const AVFrame *src, float *r, float *g, float *b, int w) {
	uint8_t *dst[4] = {(uint8_t *)g, (uint8_t *)b, (uint8_t *)r, NULL};
	int stride[4] = {w * 4, w * 4, w * 4, 0};
	return sws_scale(c, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst, stride);
}

// ugcsr_float_to_frame converts three float planes (R, G, B; w*h each) into dst, making dst
// writable first since an encoder may still hold its last buffer.
static int ugcsr_float_to_frame(struct SwsContext *c, AVFrame *dst, const float *r, const float *g, const float *b, int w, int h) {
	int ret = av_frame_make_writable(dst);
	if (ret < 0) return ret;
	const uint8_t *src[4] = {(const uint8_t *)g, (const uint8_t *)b, (const uint8_t *)r, NULL};
	int stride[4] = {w * 4, w * 4, w * 4, 0};
	return sws_scale(c, src, stride, 0, h, dst->data, dst->linesize);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// Scaler is a swscale context converting FFmpeg frames to or from planar float32 RGB: three planes
// (R, G, B) of w*h values with no padding, in Go memory that C uses only during a call. A Scaler
// owns its SwsContext until Free. It is not safe for concurrent use.
type Scaler struct{ c *C.struct_SwsContext }

// NewToFloat converts w x h frames of pixel format pf to dw x dh float RGB (bicubic, accurate
// rounding, full chroma), reading YUV with matrix colorspace (SWS_CS_*) in full or limited range.
func NewToFloat(w, h int, pf astiav.PixelFormat, dw, dh, colorspace int, fullRange bool) (*Scaler, error) {
	c := C.ugcsr_sws_new(C.int(w), C.int(h), C.int(pf), C.int(dw), C.int(dh), C.AV_PIX_FMT_GBRPF32LE,
		C.SWS_BICUBIC|C.SWS_ACCURATE_RND|C.SWS_FULL_CHR_H_INT|C.SWS_FULL_CHR_H_INP, C.int(colorspace), cbool(fullRange), 1)
	if c == nil {
		return nil, fmt.Errorf("swscale cannot convert %s %dx%d to RGB", pf, w, h)
	}
	return &Scaler{c: c}, nil
}

// NewFromFloat converts w x h float RGB to frames of pixel format pf (area filter, accurate
// rounding), writing YUV with matrix colorspace (SWS_CS_*) in full or limited range.
func NewFromFloat(w, h int, pf astiav.PixelFormat, colorspace int, fullRange bool) (*Scaler, error) {
	c := C.ugcsr_sws_new(C.int(w), C.int(h), C.AV_PIX_FMT_GBRPF32LE, C.int(w), C.int(h), C.int(pf),
		C.SWS_AREA|C.SWS_ACCURATE_RND, C.int(colorspace), 1, cbool(fullRange))
	if c == nil {
		return nil, fmt.Errorf("swscale cannot convert RGB to %s at %dx%d", pf, w, h)
	}
	return &Scaler{c: c}, nil
}

// ToFloat converts src into planes r, g, b of width w and returns the number of rows written.
func (s *Scaler) ToFloat(src *astiav.Frame, r, g, b []float32, w int) int {
	return int(C.ugcsr_sws_to_float(s.c, cFrame(src), (*C.float)(unsafe.Pointer(&r[0])),
		(*C.float)(unsafe.Pointer(&g[0])), (*C.float)(unsafe.Pointer(&b[0])), C.int(w)))
}

// FromFloat converts w x h planes r, g, b into dst, making dst writable first.
func (s *Scaler) FromFloat(dst *astiav.Frame, r, g, b []float32, w, h int) error {
	n := C.ugcsr_float_to_frame(s.c, cFrame(dst), (*C.float)(unsafe.Pointer(&r[0])),
		(*C.float)(unsafe.Pointer(&g[0])), (*C.float)(unsafe.Pointer(&b[0])), C.int(w), C.int(h))
	if n < 0 {
		return astiav.Error(n)
	}
	return nil
}

// Free releases the context. It is nil-safe and idempotent.
func (s *Scaler) Free() {
	if s != nil && s.c != nil {
		C.sws_freeContext(s.c)
		s.c = nil
	}
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
