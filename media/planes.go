package media

// Planes describes a planar YUV pixel format as stored in memory: a luma plane of the picture's
// size and two chroma planes of ceil(W/2^ChromaShiftX) x ceil(H/2^ChromaShiftY) samples, each
// sample Depth bits, one byte for Depth 8 and a little-endian 16-bit word above. The zero value
// means the format is none this program resamples in its own format (RGB, packed, semi-planar,
// alpha, big-endian, full range, ...), and frames go through float RGB instead.
type Planes struct {
	ChromaShiftX, ChromaShiftY int
	Depth                      int
}

// Valid reports whether p describes planar YUV.
func (p Planes) Valid() bool { return p.Depth >= 8 && p.Depth <= 16 }

// Size returns the size of plane c (0 Y, 1 Cb, 2 Cr) of a w x h picture.
func (p Planes) Size(c, w, h int) (int, int) {
	if c == 0 {
		return w, h
	}
	return -(-w >> p.ChromaShiftX), -(-h >> p.ChromaShiftY)
}
