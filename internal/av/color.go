package av

/*
#cgo pkg-config: libswscale
#include <libswscale/swscale.h>
*/
import "C"

import "github.com/ugcsr/ugcsr/media"

// SwsColorspace is the one colour-matrix table: swscale's coefficients (SWS_CS_*) for a YUV
// matrix, and false for matrices swscale has none for (unspecified, RGB, YCgCo, ...).
func SwsColorspace(s media.ColorSpace) (int, bool) {
	switch s {
	case media.ColorSpaceBT709:
		return C.SWS_CS_ITU709, true
	case media.ColorSpaceFCC:
		return C.SWS_CS_FCC, true
	case media.ColorSpaceBT470BG, media.ColorSpaceSMPTE170M:
		return C.SWS_CS_ITU601, true
	case media.ColorSpaceSMPTE240M:
		return C.SWS_CS_SMPTE240M, true
	case media.ColorSpaceBT2020NCL, media.ColorSpaceBT2020CL:
		return C.SWS_CS_BT2020, true
	}
	return 0, false
}

// DefaultColorSpace is the matrix assumed for untagged video: BT.709 for HD (720 lines or 1280
// columns and up), BT.601 (SMPTE 170M) below.
func DefaultColorSpace(w, h int) media.ColorSpace {
	if h >= 720 || w >= 1280 {
		return media.ColorSpaceBT709
	}
	return media.ColorSpaceSMPTE170M
}
