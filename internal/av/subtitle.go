package av

/*
#include <string.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>

typedef struct {
	AVCodecContext *dec, *enc;
	uint8_t *buf;
	int size;
} ugcsr_subconv;

static void ugcsr_subconv_free(ugcsr_subconv *c) {
	if (!c) return;
	avcodec_free_context(&c->dec);
	avcodec_free_context(&c->enc);
	av_free(c->buf);
	av_free(c);
}

// ugcsr_subconv_new opens a decoder for in and an encoder for enc_id, the encoder given the
// decoder's ASS header as ffmpeg gives it; it fills out with the encoder's parameters.
static int ugcsr_subconv_new(ugcsr_subconv **res, const AVCodecParameters *in, AVRational tb, int enc_id, AVCodecParameters *out) {
	const AVCodec *d = avcodec_find_decoder(in->codec_id), *e = avcodec_find_encoder(enc_id);
	if (!d || !e) return AVERROR_DECODER_NOT_FOUND;
	ugcsr_subconv *c = av_mallocz(sizeof *c);
	if (!c) return AVERROR(ENOMEM);
	int ret = AVERROR(ENOMEM);
	if (!(c->dec = avcodec_alloc_context3(d)) || !(c->enc = avcodec_alloc_context3(e))) goto fail;
	if ((ret = avcodec_parameters_to_context(c->dec, in)) < 0) goto fail;
	c->dec->pkt_timebase = tb;
	if ((ret = avcodec_open2(c->dec, d, NULL)) < 0) goto fail;
	if (c->dec->subtitle_header) {
		c->enc->subtitle_header = av_mallocz(c->dec->subtitle_header_size + 1);
		if (!c->enc->subtitle_header) { ret = AVERROR(ENOMEM); goto fail; }
		memcpy(c->enc->subtitle_header, c->dec->subtitle_header, c->dec->subtitle_header_size);
		c->enc->subtitle_header_size = c->dec->subtitle_header_size;
	}
	c->enc->time_base = AV_TIME_BASE_Q;
	if ((ret = avcodec_open2(c->enc, e, NULL)) < 0) goto fail;
	if ((ret = avcodec_parameters_from_context(out, c->enc)) < 0) goto fail;
	c->size = 1 << 20;
	if (!(c->buf = av_malloc(c->size))) { ret = AVERROR(ENOMEM); goto fail; }
	*res = c;
	return 0;
fail:
	ugcsr_subconv_free(c);
	return ret;
}

// ugcsr_subconv_run decodes one packet and encodes the subtitle it holds into c->buf; it returns
// the encoded size (0: nothing to write) and the display start and duration in microseconds.
static int ugcsr_subconv_run(ugcsr_subconv *c, AVPacket *pkt, int64_t *start, int64_t *dur) {
	AVSubtitle sub;
	int got = 0;
	int ret = avcodec_decode_subtitle2(c->dec, &sub, &got, pkt);
	if (ret < 0 || !got) return ret < 0 ? ret : 0;
	*start = sub.pts + (int64_t)sub.start_display_time * 1000;
	*dur = (int64_t)(sub.end_display_time - sub.start_display_time) * 1000;
	sub.pts = *start;
	sub.end_display_time -= sub.start_display_time;
	sub.start_display_time = 0;
	ret = avcodec_encode_subtitle(c->enc, c->buf, c->size, &sub);
	avsubtitle_free(&sub);
	return ret;
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// SubtitleConverter turns text subtitle packets of one codec into another (SubRip to mov_text for
// mp4, as ffmpeg converts them), through FFmpeg's subtitle decoder and encoder. Free releases it.
type SubtitleConverter struct{ c *C.ugcsr_subconv }

// NewSubtitleConverter converts packets described by in (time base tb) to codec to, and fills out
// with the converted stream's parameters.
func NewSubtitleConverter(in *astiav.CodecParameters, tb astiav.Rational, to astiav.CodecID, out *astiav.CodecParameters) (*SubtitleConverter, error) {
	var c *C.ugcsr_subconv
	ret := C.ugcsr_subconv_new(&c, (*C.AVCodecParameters)(cptr(in)), C.AVRational{num: C.int(tb.Num()), den: C.int(tb.Den())},
		C.int(to), (*C.AVCodecParameters)(cptr(out)))
	if ret < 0 {
		return nil, astiav.Error(ret)
	}
	return &SubtitleConverter{c: c}, nil
}

// Convert decodes pkt and returns the encoded subtitle, with its display start and duration in
// microseconds; nil data when the packet held none. The data is copied.
func (s *SubtitleConverter) Convert(pkt *astiav.Packet) (data []byte, start, dur int64, err error) {
	var st, du C.int64_t
	n := C.ugcsr_subconv_run(s.c, (*C.AVPacket)(cptr(pkt)), &st, &du)
	if n < 0 {
		return nil, 0, 0, astiav.Error(n)
	}
	if n == 0 {
		return nil, 0, 0, nil
	}
	return C.GoBytes(unsafe.Pointer(s.c.buf), n), int64(st), int64(du), nil
}

// Free releases the decoder and encoder; nil-safe.
func (s *SubtitleConverter) Free() {
	if s != nil && s.c != nil {
		C.ugcsr_subconv_free(s.c)
		s.c = nil
	}
}
