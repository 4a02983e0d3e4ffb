package media

// The colour enums take the code points of ITU-T H.273, which are also FFmpeg's values
// (AVColorSpace, AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic); only the values
// this program tests for are named.

// Color is a stream's colour description.
type Color struct {
	Space     ColorSpace
	Range     ColorRange
	Primaries ColorPrimaries
	Transfer  ColorTransfer
}

// ColorSpace is the YUV matrix (H.273 MatrixCoefficients).
type ColorSpace int

// Matrices.
const (
	ColorSpaceRGB         ColorSpace = 0
	ColorSpaceBT709       ColorSpace = 1
	ColorSpaceUnspecified ColorSpace = 2
	ColorSpaceFCC         ColorSpace = 4
	ColorSpaceBT470BG     ColorSpace = 5
	ColorSpaceSMPTE170M   ColorSpace = 6
	ColorSpaceSMPTE240M   ColorSpace = 7
	ColorSpaceBT2020NCL   ColorSpace = 9
	ColorSpaceBT2020CL    ColorSpace = 10
)

// ColorRange tells limited ("tv", MPEG) from full ("pc", JPEG) range.
type ColorRange int

// Ranges.
const (
	ColorRangeUnspecified ColorRange = 0
	ColorRangeLimited     ColorRange = 1
	ColorRangeFull        ColorRange = 2
)

// ColorPrimaries are the colour primaries (H.273 ColourPrimaries).
type ColorPrimaries int

// Primaries.
const (
	ColorPrimariesBT709       ColorPrimaries = 1
	ColorPrimariesUnspecified ColorPrimaries = 2
	ColorPrimariesSMPTE170M   ColorPrimaries = 6
)

// ColorTransfer is the transfer characteristic (H.273 TransferCharacteristics).
type ColorTransfer int

// Transfer characteristics.
const (
	ColorTransferBT709       ColorTransfer = 1
	ColorTransferUnspecified ColorTransfer = 2
	ColorTransferSMPTE170M   ColorTransfer = 6
	ColorTransferSMPTE2084   ColorTransfer = 16 // PQ, HDR10
	ColorTransferARIBSTDB67  ColorTransfer = 18 // HLG
)
