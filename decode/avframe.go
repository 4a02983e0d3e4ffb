package decode

/*
#cgo pkg-config: libavformat libavutil
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"
)

// The accessors go-astiav v0.16.0 lacks, read straight from the C structs.

func bestEffortTimestamp(f *astiav.Frame) int64 {
	return int64((*C.AVFrame)(f.UnsafePointer()).best_effort_timestamp)
}

func frameDuration(f *astiav.Frame) int64 {
	return int64((*C.AVFrame)(f.UnsafePointer()).pkt_duration)
}

// isAttachedPicture reports cover art, which mp4/mkv expose as a one-frame video stream.
func isAttachedPicture(s *astiav.Stream) bool {
	return cStream(s).disposition&C.AV_DISPOSITION_ATTACHED_PIC != 0
}

// cStream returns the AVStream behind s. go-astiav v0.16.0 (pinned in go.mod) keeps it as the
// struct's only field and has no accessor for it.
func cStream(s *astiav.Stream) *C.AVStream {
	return (*C.AVStream)(*(*unsafe.Pointer)(unsafe.Pointer(s)))
}
