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

// makeWeights computes the taps of every output sample. Taps that fall outside the input are
// dropped and the rest renormalised (Pillow), or with replicate given the weight of the edge sample
// they stand for (swscale), which is what repeating the edge sample outward gives.
func makeWeights(f Filter, in, out int, replicate bool) weights {
	scale := float64(in) / float64(out)
	fscale := math.Max(scale, 1)
	support := f.support() * fscale
	taps := int(math.Ceil(support))*2 + 1
	ws := weights{start: make([]int32, out), taps: taps, w: make([]float32, out*taps)}
	tmp := make([]float64, taps)
	for o := 0; o < out; o++ {
		centre := (float64(o) + 0.5) * scale
		lo := int(math.Floor(centre - support + 0.5))
		hi := int(math.Floor(centre + support + 0.5))
		if !replicate {
			lo, hi = max(lo, 0), min(hi, in)
		}
		if hi-lo > taps {
			hi = lo + taps
		}
		clear(tmp)
		first := min(max(lo, 0), in-1) // the first input sample the taps land on
		var sum float64
		for i := lo; i < hi; i++ {
			v := f.eval((float64(i) + 0.5 - centre) / fscale)
			tmp[min(max(i, 0), in-1)-first] += v
			sum += v
		}
		ws.start[o] = int32(first)
		row := ws.w[o*taps : (o+1)*taps]
		for i := range row {
			if sum != 0 {
				row[i] = float32(tmp[i] / sum)
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
	hp                   *phases   // horizontal integer upscale, vectorised (nil otherwise)
}

// phases describes an integer horizontal upscale by r whose interior output x = r*j+p reads
// in[j+off[p] ...] with the same weights w[p] for every j in [j0, j1): each phase is then a 1-D
// convolution over contiguous input, which vectorises like the vertical pass.
type phases struct {
	r, j0, j1 int
	off       []int
	w         [][]float32
	buf       [][]float32 // per phase, j1-j0 values
}

// findPhases returns the phase decomposition of ws for an upscale from in to out, or nil.
func findPhases(ws weights, in, out int) *phases {
	if out%in != 0 || out/in < 2 || !hasAVX2 {
		return nil
	}
	r := out / in
	jm := in / 2
	ph := &phases{r: r, off: make([]int, r), w: make([][]float32, r), buf: make([][]float32, r)}
	for p := 0; p < r; p++ {
		x := r*jm + p
		ph.off[p] = int(ws.start[x]) - jm
		ph.w[p] = ws.w[x*ws.taps : (x+1)*ws.taps]
	}
	same := func(j int) bool {
		for p := 0; p < r; p++ {
			x := r*j + p
			if int(ws.start[x]) != j+ph.off[p] || j+ph.off[p] < 0 || j+ph.off[p]+ws.taps > in {
				return false
			}
			for k, v := range ws.w[x*ws.taps : (x+1)*ws.taps] {
				if d := v - ph.w[p][k]; d > 1e-6 || d < -1e-6 {
					return false
				}
			}
		}
		return true
	}
	if !same(jm) {
		return nil
	}
	ph.j0, ph.j1 = jm, jm+1
	for ph.j0 > 0 && same(ph.j0-1) {
		ph.j0--
	}
	for ph.j1 < in && same(ph.j1) {
		ph.j1++
	}
	for p := range ph.buf {
		ph.buf[p] = make([]float32, ph.j1-ph.j0)
	}
	return ph
}

// NewResizer prepares a resize from in to out with filter f.
func NewResizer(f Filter, inW, inH, outW, outH int) (*Resizer, error) {
	if inW <= 0 || inH <= 0 || outW <= 0 || outH <= 0 {
		return nil, fmt.Errorf("resample: bad size %dx%d -> %dx%d", inW, inH, outW, outH)
	}
	r := &Resizer{
		inW: inW, inH: inH, outW: outW, outH: outH,
		hw: makeWeights(f, inW, outW, false), vw: makeWeights(f, inH, outH, false),
		tmp: make([]float32, outW*inH),
	}
	r.hp = findPhases(r.hw, inW, outW)
	return r, nil
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
	if r.inW == r.outW {
		copy(dst, src[:r.inW*r.inH])
		return
	}
	for y := 0; y < r.inH; y++ {
		r.horizontalRow(dst[y*r.outW:(y+1)*r.outW:(y+1)*r.outW], src[y*r.inW:(y+1)*r.inW:(y+1)*r.inW])
	}
}

// horizontalRow resamples one row of inW values into outW values.
func (r *Resizer) horizontalRow(out, in []float32) {
	taps := r.hw.taps
	lo, hi := 0, 0 // outputs [lo, hi) done by the phase path
	if ph := r.hp; ph != nil {
		lo, hi = ph.r*ph.j0, ph.r*ph.j1
		r.horizontalPhases(out, in)
	}
	for x := 0; x < len(out); x++ {
		if x == lo && hi > lo {
			x = hi - 1 // the phase path's span: skip it
			continue
		}
		s := int(r.hw.start[x])
		w := r.hw.w[x*taps : (x+1)*taps : (x+1)*taps]
		if s+6 <= len(in) && len(w) >= 6 && (len(w) == 6 || w[6] == 0) {
			p := in[s : s+6 : s+6]
			out[x] = w[0]*p[0] + w[1]*p[1] + w[2]*p[2] + w[3]*p[3] + w[4]*p[4] + w[5]*p[5]
			continue
		}
		n := min(len(in)-s, taps)
		var acc float32
		for k, v := range in[s : s+n] {
			acc += w[k] * v
		}
		out[x] = acc
	}
}

// horizontalPhases computes the interior outputs of one row phase by phase, then interleaves them.
func (r *Resizer) horizontalPhases(out, in []float32) {
	ph := r.hp
	n := ph.j1 - ph.j0
	var rows [16][]float32
	taps := len(ph.w[0])
	for p := 0; p < ph.r; p++ {
		buf := ph.buf[p]
		for k := 0; k < taps; k++ {
			rows[k] = in[ph.j0+ph.off[p]+k:]
		}
		done := sumRowsSIMD(buf, rows[:taps], ph.w[p], false)
		for j := done; j < n; j++ {
			var acc float32
			for k, wk := range ph.w[p] {
				acc += wk * rows[k][j]
			}
			buf[j] = acc
		}
	}
	if ph.r == 2 {
		b0, b1 := ph.buf[0], ph.buf[1][:len(ph.buf[0])]
		o := out[2*ph.j0 : 2*ph.j1]
		for j, v := range b0 {
			o[2*j], o[2*j+1] = v, b1[j]
		}
		return
	}
	for p := 0; p < ph.r; p++ {
		for j, v := range ph.buf[p] {
			out[ph.r*(ph.j0+j)+p] = v
		}
	}
}

func (r *Resizer) vertical(dst, src []float32) {
	w := r.outW
	for y := 0; y < r.outH; y++ {
		r.verticalRow(dst[y*w:(y+1)*w:(y+1)*w], src, y)
	}
}

// verticalRow writes output row y, clamped to [0,1], from src, outW x inH values.
func (r *Resizer) verticalRow(out, src []float32, y int) {
	taps := r.vw.taps
	w := r.outW
	var rows [16][]float32
	var ws [16]float32
	if r.inH == r.outH {
		copy(out, src[y*w:(y+1)*w])
		clamp(out)
		return
	}
	// Gather the contributing rows, then make one fused pass over the output row: far less
	// memory traffic than one read-modify-write pass per tap.
	s := int(r.vw.start[y])
	n, flushed := 0, false
	for k, wk := range r.vw.w[y*taps : (y+1)*taps] {
		if wk == 0 || s+k >= r.inH {
			continue
		}
		if n == len(rows) { // long kernels (strong shrinking): add in batches
			if !flushed {
				clear(out)
				flushed = true
			}
			accumulate(out, rows[:n], ws[:n])
			n = 0
		}
		rows[n] = src[(s+k)*w : (s+k+1)*w : (s+k+1)*w]
		ws[n] = wk
		n++
	}
	if flushed {
		accumulate(out, rows[:n], ws[:n])
		clamp(out)
		return
	}
	done := sumRowsSIMD(out, rows[:n], ws[:n], true)
	if done < len(out) {
		for k := range rows[:n] {
			rows[k] = rows[k][done:]
		}
		sum(out[done:], rows[:n], ws[:n])
		clamp(out[done:])
	}
}

// sum writes out = Σ ws[k]*rows[k], unrolled for the common tap counts.
func sum(out []float32, rows [][]float32, ws []float32) {
	switch len(rows) {
	case 0:
		clear(out)
	case 4:
		r0, r1, r2, r3 := rows[0][:len(out)], rows[1][:len(out)], rows[2][:len(out)], rows[3][:len(out)]
		w0, w1, w2, w3 := ws[0], ws[1], ws[2], ws[3]
		for i := range out {
			out[i] = w0*r0[i] + w1*r1[i] + w2*r2[i] + w3*r3[i]
		}
	case 6:
		r0, r1, r2, r3, r4, r5 := rows[0][:len(out)], rows[1][:len(out)], rows[2][:len(out)], rows[3][:len(out)], rows[4][:len(out)], rows[5][:len(out)]
		w0, w1, w2, w3, w4, w5 := ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
		for i := range out {
			out[i] = w0*r0[i] + w1*r1[i] + w2*r2[i] + w3*r3[i] + w4*r4[i] + w5*r5[i]
		}
	default:
		clear(out)
		accumulate(out, rows, ws)
	}
}

// accumulate adds Σ ws[k]*rows[k] to out.
func accumulate(out []float32, rows [][]float32, ws []float32) {
	for k, row := range rows {
		row = row[:len(out)]
		wk := ws[k]
		for i, v := range row {
			out[i] += wk * v
		}
	}
}

func clamp(out []float32) {
	for i, v := range out {
		out[i] = min(max(v, 0), 1)
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
