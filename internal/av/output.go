package av

/*
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>

static int ugcsr_default_video_codec(const AVOutputFormat *f) { return f->video_codec; }
static int ugcsr_query_codec(const AVOutputFormat *f, int id) { return avformat_query_codec(f, id, FF_COMPLIANCE_NORMAL); }
*/
import "C"

import "github.com/asticode/go-astiav"

// CodecIDWrappedAVFrame is y4m's codec in FFmpeg 5.1; go-astiav v0.16.0 does not name it.
const CodecIDWrappedAVFrame = astiav.CodecID(C.AV_CODEC_ID_WRAPPED_AVFRAME)

// DefaultVideoCodec is the muxer's own video codec.
func DefaultVideoCodec(f *astiav.OutputFormat) astiav.CodecID {
	return astiav.CodecID(C.ugcsr_default_video_codec(cOutputFormat(f)))
}

// CanMux reports whether the muxer can store codec id (avformat_query_codec).
func CanMux(f *astiav.OutputFormat, id astiav.CodecID) bool {
	return C.ugcsr_query_codec(cOutputFormat(f), C.int(id)) == 1
}
