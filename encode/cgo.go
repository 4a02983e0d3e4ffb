package encode

/*
#cgo pkg-config: libavformat libavcodec libavutil libswscale
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/dict.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stdlib.h>

struct SwsContext *ugcsr_sws_from_float(int w, int h, int fmt, int colorspace, int full_range) {
	struct SwsContext *c = sws_getContext(w, h, AV_PIX_FMT_GBRPF32LE, w, h, fmt,
		SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
	if (!c) return NULL;
	int *inv, src_range, *tbl, dst_range, bri, con, sat;
	if (sws_getColorspaceDetails(c, &inv, &src_range, &tbl, &dst_range, &bri, &con, &sat) >= 0) {
		const int *coef = sws_getCoefficients(colorspace);
		sws_setColorspaceDetails(c, coef, 1, coef, full_range, bri, con, sat);
	}
	return c;
}

// ugcsr_sws_from_float converts three float planes (R, G, B; w*h each, Go memory used only during
// the call) into dst, making dst writable first since an encoder may still hold its last buffer.
int ugcsr_float_to_frame(struct SwsContext *c, AVFrame *dst, const float *r, const float *g, const float *b, int w, int h) {
	int ret = av_frame_make_writable(dst);
	if (ret < 0) return ret;
	const uint8_t *src[4] = {(const uint8_t *)g, (const uint8_t *)b, (const uint8_t *)r, NULL};
	int stride[4] = {w * 4, w * 4, w * 4, 0};
	return sws_scale(c, src, stride, 0, h, dst->data, dst->linesize);
}

static int ugcsr_codec_wrapped_avframe(void) { return AV_CODEC_ID_WRAPPED_AVFRAME; }
static int ugcsr_make_writable(AVFrame *f) { return av_frame_make_writable(f); }

static int ugcsr_default_video_codec(const AVOutputFormat *f) { return f->video_codec; }
static int ugcsr_format_flags(const AVOutputFormat *f) { return f->flags; }
static int ugcsr_query_codec(const AVOutputFormat *f, int id) { return avformat_query_codec(f, id, FF_COMPLIANCE_NORMAL); }

static void ugcsr_copy_stream_meta(AVStream *dst, const AVStream *src) {
	av_dict_copy(&dst->metadata, src->metadata, 0);
	dst->disposition = src->disposition;
}
static void ugcsr_copy_format_meta(AVFormatContext *dst, const AVFormatContext *src) {
	av_dict_copy(&dst->metadata, src->metadata, 0);
}
static void ugcsr_dict_del(AVDictionary **d, const char *key) { av_dict_set(d, key, NULL, 0); }
static AVDictionary **ugcsr_stream_meta(AVStream *s) { return &s->metadata; }
static AVDictionary **ugcsr_format_meta(AVFormatContext *f) { return &f->metadata; }
static void ugcsr_clear_codec_tag(AVStream *s) { s->codecpar->codec_tag = 0; }
static int ugcsr_pix_fmt_rgb(int fmt) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// cptr returns the C struct behind a go-astiav wrapper. Every wrapper type of go-astiav v0.16.0
// (pinned in go.mod) is a struct holding only that pointer; the few fields it has no accessor for
// are reached this way.
func cptr[T any](p *T) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(p)) }

func cFormat(fc *astiav.FormatContext) *C.AVFormatContext {
	return (*C.AVFormatContext)(cptr(fc))
}
func cStream(s *astiav.Stream) *C.AVStream { return (*C.AVStream)(cptr(s)) }
func cOutputFormat(f *astiav.OutputFormat) *C.AVOutputFormat {
	return (*C.AVOutputFormat)(cptr(f))
}

// codecIDWrappedAVFrame is y4m's codec in FFmpeg 5.1; go-astiav v0.16.0 does not name it.
var codecIDWrappedAVFrame = astiav.CodecID(C.ugcsr_codec_wrapped_avframe())

func defaultVideoCodec(f *astiav.OutputFormat) astiav.CodecID {
	return astiav.CodecID(C.ugcsr_default_video_codec(cOutputFormat(f)))
}

func formatFlags(f *astiav.OutputFormat) astiav.IOFormatFlags {
	return astiav.IOFormatFlags(C.ugcsr_format_flags(cOutputFormat(f)))
}

// canMux reports whether the output format can store codec id.
func canMux(f *astiav.OutputFormat, id astiav.CodecID) bool {
	return C.ugcsr_query_codec(cOutputFormat(f), C.int(id)) == 1
}

func copyStreamMeta(dst, src *astiav.Stream) {
	C.ugcsr_copy_stream_meta(cStream(dst), cStream(src))
	C.ugcsr_clear_codec_tag(cStream(dst))
}

func copyFormatMeta(dst, src *astiav.FormatContext) {
	C.ugcsr_copy_format_meta(cFormat(dst), cFormat(src))
}

func deleteStreamMeta(s *astiav.Stream, key string) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	C.ugcsr_dict_del(C.ugcsr_stream_meta(cStream(s)), k)
}

func deleteFormatMeta(fc *astiav.FormatContext, key string) {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	C.ugcsr_dict_del(C.ugcsr_format_meta(cFormat(fc)), k)
}

func isRGB(p astiav.PixelFormat) bool { return C.ugcsr_pix_fmt_rgb(C.int(p)) != 0 }

func makeWritable(f *astiav.Frame) error {
	if ret := C.ugcsr_make_writable((*C.AVFrame)(f.UnsafePointer())); ret < 0 {
		return astiav.Error(ret)
	}
	return nil
}
