// Package quality measures upscaled video against the original frames: PSNR, SSIM, tPSNR (the PSNR
// of frame-to-frame differences: higher is less flicker) and sharpness, and runs the quality
// benchmark behind README's table (Bench).
package quality

import (
	"errors"
	"fmt"
	"math"

	"github.com/ugcsr/ugcsr/frame"
)

var nan = math.NaN()

// ErrMismatch is returned by Seq.Add for frames of another size than the sequence's, or holding a
// NaN or infinite sample.
var ErrMismatch = errors.New("quality: frames not comparable")

// Seq accumulates the measures of an output sequence against its reference, frame by frame in
// order. Every measure is on samples quantized to 8 bits, as they would be stored.
//
// Memory: two 8-bit copies of the previous frames (6 bytes per pixel).
type Seq struct {
	w, h           int
	sse, samples   float64 // PSNR
	ssim           float64 // sum of per-frame SSIM
	frames         int
	tsse, tsamples float64 // tPSNR
	grad, gradRef  float64 // sums of gradient magnitudes on the reference's edges
	out, ref       []uint8 // this frame, planar RGB
	prevOut        []uint8
	prevRef        []uint8
	gOut, gRef     []float32 // gradient magnitudes
}

// Add measures out against ref, the original frame at the same time.
func (s *Seq) Add(out, ref *frame.Frame) error {
	if out.W != ref.W || out.H != ref.H || len(out.Pix) != 3*out.W*out.H || len(ref.Pix) != len(out.Pix) ||
		(s.frames > 0 && (out.W != s.w || out.H != s.h)) {
		return fmt.Errorf("%w: %dx%d against %dx%d", ErrMismatch, out.W, out.H, ref.W, ref.H)
	}
	for _, f := range []*frame.Frame{out, ref} {
		for _, v := range f.Pix {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: a sample is %v", ErrMismatch, v)
			}
		}
	}
	s.w, s.h = out.W, out.H
	s.prevOut, s.out = s.out, quantize(s.prevOut, out)
	s.prevRef, s.ref = s.ref, quantize(s.prevRef, ref)
	n := out.W * out.H
	var ssim float64
	for i, a := range s.out {
		d := float64(a) - float64(s.ref[i])
		s.sse += d * d
	}
	s.samples += float64(3 * n)
	for c := range 3 {
		ssim += ssimPlane(s.out[c*n:(c+1)*n], s.ref[c*n:(c+1)*n], out.W, out.H) / 3
	}
	s.ssim += ssim
	if s.frames > 0 {
		for i, a := range s.out {
			d := (float64(a) - float64(s.prevOut[i])) - (float64(s.ref[i]) - float64(s.prevRef[i]))
			s.tsse += d * d
		}
		s.tsamples += float64(3 * n)
	}
	s.gOut = gradient(s.gOut, s.out, out.W, out.H)
	s.gRef = gradient(s.gRef, s.ref, out.W, out.H)
	edge := max(quantile(s.gRef, EdgeQuantile), 1)
	for i, g := range s.gRef {
		if g >= edge {
			s.grad += float64(s.gOut[i])
			s.gradRef += float64(g)
		}
	}
	s.frames++
	return nil
}

// Frames is the number of frames added.
func (s *Seq) Frames() int { return s.frames }

// PSNR is the peak signal-to-noise ratio in dB of all frames together (one mean squared error over
// every sample of every frame); +Inf when identical, NaN before any frame.
func (s *Seq) PSNR() float64 { return psnr(s.sse, s.samples) }

// SSIM is the mean over frames of the SSIM of each frame (FFmpeg's ssim filter on R, G and B
// planes, equally weighted: its "All" for gbrp input); NaN before any frame.
func (s *Seq) SSIM() float64 {
	if s.frames == 0 {
		return nan
	}
	return s.ssim / float64(s.frames)
}

// TPSNR is the PSNR in dB of the frame-to-frame differences, out(t)-out(t-1) against
// ref(t)-ref(t-1), over all consecutive pairs: how much more (or other) change there is from frame
// to frame than in the original. +Inf when the changes are identical, NaN with fewer than two frames.
func (s *Seq) TPSNR() float64 { return psnr(s.tsse, s.tsamples) }

// EdgeQuantile picks the pixels Sharpness looks at: those whose gradient in the reference frame is
// at least this quantile of the frame's gradients (the strongest 10%: its edges), and at least one
// level.
const EdgeQuantile = 0.9

// Sharpness is the output's mean gradient magnitude on the reference's edges (see EdgeQuantile)
// relative to the reference's own there (1: edges as steep as the original's). The gradient is of
// BT.709 luma, by forward differences in x and y. Edges only, because over the whole frame a
// model that cleans compression noise off flat areas loses more gradient there than it gains on
// edges, and Lanczos, which keeps the noise, would look sharper.
func (s *Seq) Sharpness() float64 {
	if s.frames == 0 || s.gradRef == 0 {
		return nan
	}
	return s.grad / s.gradRef
}

func psnr(sse, samples float64) float64 {
	switch {
	case samples == 0:
		return nan
	case sse == 0:
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sse/samples))
}

// quantize writes f's samples as 8-bit values (frame.To8) into buf, reallocated when short.
func quantize(buf []uint8, f *frame.Frame) []uint8 {
	if cap(buf) < len(f.Pix) {
		buf = make([]uint8, len(f.Pix))
	}
	buf = buf[:len(f.Pix)]
	for i, v := range f.Pix {
		buf[i] = frame.To8(v)
	}
	return buf
}

// gradient writes into buf (reallocated when short) |∇Y| at every pixel but the last row and
// column, Y the BT.709 luma of the 8-bit planar RGB p.
func gradient(buf []float32, p []uint8, w, h int) []float32 {
	buf = buf[:0]
	n := w * h
	luma := func(i int) float64 {
		return 0.2126*float64(p[i]) + 0.7152*float64(p[n+i]) + 0.0722*float64(p[2*n+i])
	}
	for y := 0; y < h-1; y++ {
		for x := 0; x < w-1; x++ {
			i := y*w + x
			v := luma(i)
			gx, gy := luma(i+1)-v, luma(i+w)-v
			buf = append(buf, float32(math.Sqrt(gx*gx+gy*gy)))
		}
	}
	return buf
}

// quantile returns the q-quantile of g (values in [0, 362]: 8-bit gradients) to 1/8 of a level.
func quantile(g []float32, q float64) float32 {
	const bins = 8 * 363
	var hist [bins]int
	for _, v := range g {
		hist[min(int(v*8), bins-1)]++
	}
	want := int(math.Ceil(q * float64(len(g))))
	acc := 0
	for i, c := range hist {
		if acc += c; acc >= want {
			return float32(i) / 8
		}
	}
	return 0
}
