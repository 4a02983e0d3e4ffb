package av

/*
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <stdlib.h>

static int ugcsr_default_video_codec(const AVOutputFormat *f) { return f->video_codec; }
static int ugcsr_default_subtitle_codec(const AVOutputFormat *f) { return f->subtitle_codec; }
static int ugcsr_text_sub(int id) {
	const AVCodecDescriptor *d = avcodec_descriptor_get(id);
	return d && d->type == AVMEDIA_TYPE_SUBTITLE && (d->props & AV_CODEC_PROP_TEXT_SUB);
}
static int ugcsr_query_codec(const AVOutputFormat *f, int id) { return avformat_query_codec(f, id, FF_COMPLIANCE_NORMAL); }
static int ugcsr_nearest_rate(const AVCodec *c, int num, int den, int *on, int *od) {
	if (!c->supported_framerates) return 0;
	int i = av_find_nearest_q_idx((AVRational){num, den}, c->supported_framerates);
	*on = c->supported_framerates[i].num;
	*od = c->supported_framerates[i].den;
	return 1;
}
static int ugcsr_best_pix_fmt(const int *list, int n, int src, int alpha) {
	enum AVPixelFormat l[n + 1];
	for (int i = 0; i < n; i++) l[i] = list[i];
	l[n] = AV_PIX_FMT_NONE;
	return avcodec_find_best_pix_fmt_of_list(l, src, alpha, NULL);
}
static int ugcsr_guess_video_codec(const AVOutputFormat *f, const char *name) { return av_guess_codec(f, NULL, name, NULL, AVMEDIA_TYPE_VIDEO); }
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// CodecIDWrappedAVFrame is y4m's codec in FFmpeg 5.1; go-astiav v0.16.0 does not name it.
const CodecIDWrappedAVFrame = astiav.CodecID(C.AV_CODEC_ID_WRAPPED_AVFRAME)

// DefaultVideoCodec is the muxer's own video codec.
func DefaultVideoCodec(f *astiav.OutputFormat) astiav.CodecID {
	return astiav.CodecID(C.ugcsr_default_video_codec(cOutputFormat(f)))
}

// GuessVideoCodec is the video codec FFmpeg picks for an output when none is named
// (av_guess_codec): the muxer's own, or for image2 the one the file name's extension says.
func GuessVideoCodec(f *astiav.OutputFormat, name string) astiav.CodecID {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	return astiav.CodecID(C.ugcsr_guess_video_codec(cOutputFormat(f), cs))
}

// DefaultSubtitleCodec is the muxer's own subtitle codec (mov_text for mp4; none for most).
func DefaultSubtitleCodec(f *astiav.OutputFormat) astiav.CodecID {
	return astiav.CodecID(C.ugcsr_default_subtitle_codec(cOutputFormat(f)))
}

// IsTextSubtitle reports a subtitle codec of text (SubRip, ASS, WebVTT, mov_text), which FFmpeg
// can convert into another text codec; bitmap subtitles (DVD, PGS) cannot be.
func IsTextSubtitle(id astiav.CodecID) bool { return C.ugcsr_text_sub(C.int(id)) != 0 }

// CanMux reports whether the muxer can store codec id (avformat_query_codec). A muxer that does
// not say (MPEG-TS has no list: it takes H.264, HEVC, AAC, ... but FFmpeg only knows its defaults
// for it) is taken to hold it when unsure is true, as ffmpeg does: the muxer itself refuses what
// it cannot write when the header is written.
func CanMux(f *astiav.OutputFormat, id astiav.CodecID, unsure bool) bool {
	switch r := C.ugcsr_query_codec(cOutputFormat(f), C.int(id)); {
	case r == 1:
		return true
	case r < 0:
		return unsure
	}
	return false
}

// NearestFrameRate is the frame rate among those the encoder supports closest to fr, as ffmpeg
// picks it (av_find_nearest_q_idx over AVCodec.supported_framerates: MPEG-1/2 have a fixed list);
// fr itself for encoders without a list.
func NearestFrameRate(c *astiav.Codec, fr astiav.Rational) astiav.Rational {
	var num, den C.int
	if C.ugcsr_nearest_rate((*C.AVCodec)(cptr(c)), C.int(fr.Num()), C.int(fr.Den()), &num, &den) == 0 {
		return fr
	}
	return astiav.NewRational(int(num), int(den))
}

// BestPixelFormat is the format of list that loses least of src, as ffmpeg picks an encoder's
// pixel format for its input (avcodec_find_best_pix_fmt_of_list); alpha counts when alpha is set.
func BestPixelFormat(list []astiav.PixelFormat, src astiav.PixelFormat, alpha bool) astiav.PixelFormat {
	if len(list) == 0 {
		return astiav.PixelFormatNone
	}
	l := make([]C.int, len(list))
	for i, p := range list {
		l[i] = C.int(p)
	}
	return astiav.PixelFormat(C.ugcsr_best_pix_fmt(&l[0], C.int(len(l)), C.int(src), C.int(cbool(alpha))))
}
