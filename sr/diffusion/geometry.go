package diffusion

import (
	"fmt"
	"image"
	"math"
)

// processSize is the seed method's process_size: frames whose short side is below
// processSize/scale are first upscaled so that it equals that.
const processSize = 512

// geometry is where one frame size goes on its way through the model.
type geometry struct {
	in    image.Point // input frame
	pre   image.Point // after the short-side resize (== in when none)
	mid   image.Point // pre*scale
	proc  image.Point // process size: mid snapped down to a multiple of 8 (the condition image)
	out   image.Point // Spec.Out
	scale int
}

// newGeometry reproduces the seed method's test script: rscale = the integer scale (Out/In rounded,
// at least 1); if either side < 512/rscale (integer division), resize by (512/rscale)/min(w,h) with
// sides truncated to integers; then multiply by rscale; then snap both sides down to a multiple of
// 8. Each of those is its own bicubic resize, done in turn as the script does (identities
// skipped). The result is resized to out at the end.
func newGeometry(in, out image.Point) (geometry, error) {
	if in.X <= 0 || in.Y <= 0 || out.X <= 0 || out.Y <= 0 {
		return geometry{}, fmt.Errorf("diffusion: bad frame size %v -> %v", in, out)
	}
	r := math.Max(float64(out.X)/float64(in.X), float64(out.Y)/float64(in.Y))
	g := geometry{in: in, out: out, pre: in, scale: max(1, int(math.Round(r)))}
	short := processSize / g.scale
	if in.X < short || in.Y < short {
		f := float64(short) / float64(min(in.X, in.Y))
		g.pre = image.Pt(int(f*float64(in.X)), int(f*float64(in.Y)))
	}
	g.mid = g.pre.Mul(g.scale)
	g.proc = image.Pt(g.mid.X/8*8, g.mid.Y/8*8)
	if g.proc.X < 8 || g.proc.Y < 8 {
		return geometry{}, fmt.Errorf("diffusion: frame %v too small", in)
	}
	return g, nil
}

// latent returns the latent size (h, w) of the process size.
func (g geometry) latent() (h, w int) { return g.proc.Y / 8, g.proc.X / 8 }
