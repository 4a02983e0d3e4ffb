package av

/*
#cgo pkg-config: libavutil
#include <libavutil/pixdesc.h>
*/
import "C"

import "github.com/ugcsr/ugcsr/media"

// ColorNames names a colour description as FFmpeg (and ffprobe) does: matrix, range, primaries
// and transfer, e.g. "bt709", "tv", "bt2020", "arib-std-b67" (av_color_space_name and its kin).
// A value FFmpeg has no name for is "unknown", as ffprobe prints it.
func ColorNames(c media.Color) (space, rng, primaries, transfer string) {
	name := func(p *C.char) string {
		if p == nil {
			return "unknown"
		}
		return C.GoString(p)
	}
	return name(C.av_color_space_name(C.enum_AVColorSpace(c.Space))),
		name(C.av_color_range_name(C.enum_AVColorRange(c.Range))),
		name(C.av_color_primaries_name(C.enum_AVColorPrimaries(c.Primaries))),
		name(C.av_color_transfer_name(C.enum_AVColorTransferCharacteristic(c.Transfer)))
}
