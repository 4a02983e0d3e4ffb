// Package resample is the pure-Go separable resampler behind the classical backends and the final
// resize of every model backend: Lanczos-3, bicubic and box/area, antialiased when shrinking.
//
// Conventions follow Pillow's resampling, which the seed method's reference code uses for its
// bicubic steps: pixel centres at i+0.5, bicubic a = -0.5, and when shrinking by s the kernel is
// stretched by s so every source pixel contributes (no aliasing). Results are clamped to [0,1].
package resample

import (
	"fmt"
	"math"

	"github.com/ugcsr/ugcsr/frame"
)

// Filter is a reconstruction kernel.
type Filter int

const (
	// Lanczos is the windowed sinc with a = 3.
	Lanczos Filter = iota
	// Bicubic is Keys' cubic with a = -0.5 (Pillow's BICUBIC).
	Bicubic
	// Area is the box filter: the mean of covered source pixels when shrinking.
	Area
)

// ParseFilter maps a name (lanczos, bicubic, area) to a Filter.
func ParseFilter(name string) (Filter, error) {
	switch name {
	case "lanczos":
		return Lanczos, nil
	case "bicubic":
		return Bicubic, nil
	case "area", "box":
		return Area, nil
	}
	return 0, fmt.Errorf("resample: unknown filter %q (want lanczos, bicubic or area)", name)
}

func (f Filter) String() string {
	switch f {
	case Lanczos:
		return "lanczos"
	case Bicubic:
		return "bicubic"
	case Area:
		return "area"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

func (f Filter) support() float64 {
	switch f {
	case Lanczos:
		return 3
	case Bicubic:
		return 2
	}
	return 0.5
}

func (f Filter) eval(x float64) float64 {
	switch f {
	case Lanczos:
		if x < 0 {
			x = -x
		}
		if x >= 3 {
			return 0
		}
		return sinc(x) * sinc(x/3)
	case Bicubic:
		const a = -0.5
		if x < 0 {
			x = -x
		}
		if x < 1 {
			return ((a+2)*x-(a+3))*x*x + 1
		}
		if x < 2 {
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// weights are the taps of one output sample: source samples start..start+len(w)-1.
type weights struct {
	start []int32
	taps  int
	w     []float32 // len(start)*taps, zero-padded
}

func makeWeights(f Filter, in, out int) weights {
	scale := float64(in) / float64(out)
	fscale := math.Max(scale, 1)
	support := f.support() * fscale
	taps := int(math.Ceil(support))*2 + 1
	ws := weights{start: make([]int32, out), taps: taps, w: make([]float32, out*taps)}
	tmp := make([]float64, taps)
	for o := 0; o < out; o++ {
		centre := (float64(o) + 0.5) * scale
		lo := int(math.Floor(centre - support + 0.5))
		if lo < 0 {
			lo = 0
		}
		hi := int(math.Floor(centre + support + 0.5))
		if hi > in {
			hi = in
		}
		if hi-lo > taps {
			hi = lo + taps
		}
		var sum float64
		for i := lo; i < hi; i++ {
			v := f.eval((float64(i) + 0.5 - centre) / fscale)
			tmp[i-lo] = v
			sum += v
		}
		ws.start[o] = int32(lo)
		row := ws.w[o*taps : (o+1)*taps]
		for i := lo; i < hi; i++ {
			if sum != 0 {
				row[i-lo] = float32(tmp[i-lo] / sum)
			}
		}
	}
	return ws
}

// Resizer resizes frames of one input size to one output size, reusing its weights and scratch.
// It is not safe for concurrent use; make one per worker.
type Resizer struct {
	inW, inH, outW, outH int
	hw, vw               weights
	tmp                  []float32 // outW x inH, one plane
}

// NewResizer prepares a resize from in to out with filter f.
func NewResizer(f Filter, inW, inH, outW, outH int) (*Resizer, error) {
	if inW <= 0 || inH <= 0 || outW <= 0 || outH <= 0 {
		return nil, fmt.Errorf("resample: bad size %dx%d -> %dx%d", inW, inH, outW, outH)
	}
	return &Resizer{
		inW: inW, inH: inH, outW: outW, outH: outH,
		hw: makeWeights(f, inW, outW), vw: makeWeights(f, inH, outH),
		tmp: make([]float32, outW*inH),
	}, nil
}

// Resize writes src resized into dst. Sizes must match the Resizer's.
func (r *Resizer) Resize(dst, src *frame.Frame) error {
	if src.W != r.inW || src.H != r.inH || dst.W != r.outW || dst.H != r.outH {
		return fmt.Errorf("resample: resizer is %dx%d->%dx%d, got %dx%d->%dx%d",
			r.inW, r.inH, r.outW, r.outH, src.W, src.H, dst.W, dst.H)
	}
	for c := 0; c < 3; c++ {
		r.ResizePlane(dst.Plane(c), src.Plane(c))
	}
	return nil
}

// ResizePlane resizes one inW x inH plane into an outW x outH plane.
func (r *Resizer) ResizePlane(dst, src []float32) {
	r.horizontal(r.tmp, src)
	r.vertical(dst, r.tmp)
}

func (r *Resizer) horizontal(dst, src []float32) {
	taps := r.hw.taps
	if r.inW == r.outW {
		copy(dst, src[:r.inW*r.inH])
		return
	}
	for y := 0; y < r.inH; y++ {
		in := src[y*r.inW : (y+1)*r.inW]
		out := dst[y*r.outW : (y+1)*r.outW]
		for x := range out {
			s := int(r.hw.start[x])
			w := r.hw.w[x*taps : (x+1)*taps]
			n := len(in) - s
			if n > taps {
				n = taps
			}
			px := in[s : s+n]
			var acc float32
			for k, v := range px {
				acc += w[k] * v
			}
			out[x] = acc
		}
	}
}

func (r *Resizer) vertical(dst, src []float32) {
	taps := r.vw.taps
	w := r.outW
	for y := 0; y < r.outH; y++ {
		out := dst[y*w : (y+1)*w]
		if r.inH == r.outH {
			copy(out, src[y*w:(y+1)*w])
		} else {
			s := int(r.vw.start[y])
			ws := r.vw.w[y*taps : (y+1)*taps]
			for i := range out {
				out[i] = 0
			}
			for k, wk := range ws {
				if wk == 0 || s+k >= r.inH {
					continue
				}
				in := src[(s+k)*w : (s+k+1)*w]
				for i, v := range in {
					out[i] += wk * v
				}
			}
		}
		for i, v := range out {
			if v < 0 {
				out[i] = 0
			} else if v > 1 {
				out[i] = 1
			}
		}
	}
}

// Resize is a one-shot convenience: it allocates a Resizer for this call.
func Resize(f Filter, dst, src *frame.Frame) error {
	r, err := NewResizer(f, src.W, src.H, dst.W, dst.H)
	if err != nil {
		return err
	}
	return r.Resize(dst, src)
}
