package resample

import "fmt"

// PlaneResizer resizes one plane of integer samples (a Y, Cb or Cr plane of the source's own
// format) the way FFmpeg's swscale does: pixel centres at i+0.5 in every plane, and taps that fall
// outside the plane repeat its edge sample. A chroma plane is resampled at its own size with the
// same centre alignment: ffmpeg 5.1's scale filter places 4:2:0 chroma centred in both directions
// whatever the stream's chroma_location says (swscale's get_local_pos default), and so does this
// (on the shared clips, tagged "left", treating chroma as left-sited instead puts Cb 10 dB further
// from ffmpeg's output). Arithmetic is float32 per row (the Resizer's vectorised kernels), rounded
// to the nearest integer once, at the end. It is not safe for concurrent use; make one per worker
// and plane size.
type PlaneResizer struct {
	r       *Resizer
	in, out []float32 // one input row; one output row
}

// NewPlaneResizer prepares a resize of inW x inH planes to outW x outH with filter f.
func NewPlaneResizer(f Filter, inW, inH, outW, outH int) (*PlaneResizer, error) {
	if inW <= 0 || inH <= 0 || outW <= 0 || outH <= 0 {
		return nil, fmt.Errorf("resample: bad plane size %dx%d -> %dx%d", inW, inH, outW, outH)
	}
	r := &Resizer{
		inW: inW, inH: inH, outW: outW, outH: outH,
		hw: makeWeights(f, inW, outW, true), vw: makeWeights(f, inH, outH, true),
		tmp: make([]float32, outW*inH),
	}
	r.hp = findPhases(r.hw, inW, outW)
	return &PlaneResizer{r: r, in: make([]float32, inW), out: make([]float32, outW)}, nil
}

// Resize8 resizes an 8-bit plane, rows without padding.
func (p *PlaneResizer) Resize8(dst, src []uint8) error {
	if err := p.check(len(dst), len(src)); err != nil {
		return err
	}
	resizeInts(p, dst, src, 255)
	return nil
}

// Resize16 resizes a plane of depth-bit samples held in 16-bit words, rows without padding.
func (p *PlaneResizer) Resize16(dst, src []uint16, depth int) error {
	if err := p.check(len(dst), len(src)); err != nil {
		return err
	}
	if depth < 1 || depth > 16 {
		return fmt.Errorf("resample: bad sample depth %d", depth)
	}
	resizeInts(p, dst, src, float32(int(1)<<depth-1))
	return nil
}

// resizeInts resamples in [0,1]: samples are divided by maxv on the way in, and multiplied by it
// and rounded on the way out (the vertical pass clamps to [0,1], so the result fits).
func resizeInts[T uint8 | uint16](p *PlaneResizer, dst, src []T, maxv float32) {
	r := p.r
	for y := 0; y < r.inH; y++ {
		row := src[y*r.inW : (y+1)*r.inW]
		for x := toFloatSIMD(p.in, row, 1/maxv); x < len(row); x++ {
			p.in[x] = float32(row[x]) / maxv
		}
		r.horizontalRow(r.tmp[y*r.outW:(y+1)*r.outW:(y+1)*r.outW], p.in)
	}
	for y := 0; y < r.outH; y++ {
		r.verticalRow(p.out, r.tmp, y)
		row := dst[y*r.outW : (y+1)*r.outW]
		for x := fromFloatSIMD(row, p.out, maxv); x < len(row); x++ {
			row[x] = T(p.out[x]*maxv + 0.5)
		}
	}
}

func (p *PlaneResizer) check(dst, src int) error {
	r := p.r
	if src != r.inW*r.inH || dst != r.outW*r.outH {
		return fmt.Errorf("resample: plane resizer is %dx%d->%dx%d, got %d->%d samples", r.inW, r.inH, r.outW, r.outH, src, dst)
	}
	return nil
}
