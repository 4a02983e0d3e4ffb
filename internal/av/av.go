// Package av holds the FFmpeg helpers decode and encode share: the C fields go-astiav v0.16.0 has
// no accessor for, tags, the colour-matrix table, swscale to and from planar float RGB, plane copies
// to and from frame.YUV, and the conversions between go-astiav values and package media's.
//
// Nothing here frees what it is given; a Go view of C memory (Plane) dies with its frame's buffer.
package av

/*
#cgo pkg-config: libavformat libavcodec libavutil
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
#include <libavcodec/codec_par.h>
#include <libavutil/pixdesc.h>
#include <malloc.h>

static int ugcsr_pix_fmt_alpha(int fmt) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	return d && (d->flags & AV_PIX_FMT_FLAG_ALPHA);
}

static int ugcsr_pix_fmt_depth(int fmt) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	return d ? d->comp[0].depth : 0;
}

static int ugcsr_pix_fmt_rgb(int fmt) {
	const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
	return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/media"
)

// FixMmapThreshold makes glibc serve every allocation of 128 KiB or more with its own mapping,
// returned to the system when freed. By default the threshold rises as large blocks are freed, so
// the buffers of encoders opened and closed one after another end up in the heap, and the heap
// grows with every encoder (measured: 231 MB after 17 segments, 291 MB after 67; 195 and 198 MB
// with the threshold fixed). It is process-wide and idempotent.
func FixMmapThreshold() { C.mallopt(C.M_MMAP_THRESHOLD, 128<<10) }

// cptr returns the C struct behind a go-astiav wrapper. Every wrapper type of go-astiav v0.16.0
// (pinned in go.mod) is a struct holding only that pointer, unexported and without an accessor
// on Stream, FormatContext and OutputFormat; this is the one place that reaches for it.
func cptr[T any](p *T) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(p)) }

func cStream(s *astiav.Stream) *C.AVStream { return (*C.AVStream)(cptr(s)) }

func cFormat(fc *astiav.FormatContext) *C.AVFormatContext { return (*C.AVFormatContext)(cptr(fc)) }

func cOutputFormat(f *astiav.OutputFormat) *C.AVOutputFormat {
	return (*C.AVOutputFormat)(cptr(f))
}

func cFrame(f *astiav.Frame) *C.AVFrame { return (*C.AVFrame)(f.UnsafePointer()) }

// CodecParameters is the media.CodecParameters decode hands out: the demuxer's own
// AVCodecParameters of a copied stream, not a copy. avformat_close_input frees it, so it is valid
// until the decoder that made it is closed; encode copies it into its output stream at Open.
type CodecParameters struct{ *astiav.CodecParameters }

// FromRational converts an FFmpeg rational.
func FromRational(r astiav.Rational) media.Rational {
	return media.Rational{Num: r.Num(), Den: r.Den()}
}

// ToRational converts to an FFmpeg rational.
func ToRational(r media.Rational) astiav.Rational { return astiav.NewRational(r.Num, r.Den) }

// ColorOf reads a stream's colour description. media's colour values are FFmpeg's.
func ColorOf(cp *astiav.CodecParameters) media.Color {
	return media.Color{
		Space:     media.ColorSpace(cp.ColorSpace()),
		Range:     media.ColorRange(cp.ColorRange()),
		Primaries: media.ColorPrimaries(cp.ColorPrimaries()),
		Transfer:  media.ColorTransfer(cp.ColorTransferCharacteristic()),
	}
}

// IsRGB reports whether a pixel format holds RGB rather than YUV (av_pix_fmt_desc_get).
func IsRGB(pf astiav.PixelFormat) bool { return C.ugcsr_pix_fmt_rgb(C.int(pf)) != 0 }

// FieldOrder names a stream's field order as ffprobe does: "progressive", "tt", "bb", "tb", "bt",
// or "unknown".
func FieldOrder(cp *astiav.CodecParameters) string {
	switch (*C.AVCodecParameters)(cptr(cp)).field_order {
	case C.AV_FIELD_PROGRESSIVE:
		return "progressive"
	case C.AV_FIELD_TT:
		return "tt"
	case C.AV_FIELD_BB:
		return "bb"
	case C.AV_FIELD_TB:
		return "tb"
	case C.AV_FIELD_BT:
		return "bt"
	}
	return "unknown"
}

// HasAlpha reports a pixel format with an alpha component (av_pix_fmt_desc_get).
func HasAlpha(pf astiav.PixelFormat) bool { return C.ugcsr_pix_fmt_alpha(C.int(pf)) != 0 }

// BitDepth is the bits per sample of a pixel format's first component (av_pix_fmt_desc_get).
func BitDepth(pf astiav.PixelFormat) int { return int(C.ugcsr_pix_fmt_depth(C.int(pf))) }

// BestEffortTimestamp is the frame's best_effort_timestamp.
func BestEffortTimestamp(f *astiav.Frame) int64 { return int64(cFrame(f).best_effort_timestamp) }

// FrameDamaged reports a frame the decoder output with errors concealed (AV_FRAME_FLAG_CORRUPT or
// decode_error_flags).
func FrameDamaged(f *astiav.Frame) bool {
	c := cFrame(f)
	return c.flags&C.AV_FRAME_FLAG_CORRUPT != 0 || c.decode_error_flags != 0
}

// FrameDuration is the frame's pkt_duration, in its stream's time base.
func FrameDuration(f *astiav.Frame) int64 { return int64(cFrame(f).pkt_duration) }

// Plane returns plane i of a video frame as linesize*height bytes. The slice is a view of the
// frame's buffer: it dies when the frame is unreffed, freed or made writable.
func Plane(f *astiav.Frame, i int) []byte {
	return unsafe.Slice((*byte)(cFrame(f).data[i]), f.Linesize()[i]*f.Height())
}

// MakeWritable gives the frame a buffer of its own when an encoder still holds the current one
// (av_frame_make_writable).
func MakeWritable(f *astiav.Frame) error {
	if ret := C.av_frame_make_writable(cFrame(f)); ret < 0 {
		return astiav.Error(ret)
	}
	return nil
}
