package diffusion

import "math"

// ImageNet normalisation of the SAM2 encoder's and the tagger's input.
var (
	imagenetMean = [3]float32{0.485, 0.456, 0.406}
	imagenetStd  = [3]float32{0.229, 0.224, 0.225}
)

// linearResizer is an antialiased bilinear (triangle filter) resize of planes, with Pillow's and
// torchvision's antialias conventions: pixel centres at i+0.5, the kernel stretched by the shrink
// factor. It is how SAM2's and RAM's transforms (Resize to a square, bilinear) prepare their input.
type linearResizer struct {
	inW, inH, outW, outH int
	hx, hy               taps
	tmp                  []float32
}

type taps struct {
	start []int
	n     int
	w     []float32
}

func linearTaps(in, out int) taps {
	scale := float64(in) / float64(out)
	fs := math.Max(scale, 1)
	support := fs
	n := int(math.Ceil(support))*2 + 1
	t := taps{start: make([]int, out), n: n, w: make([]float32, out*n)}
	for o := range out {
		c := (float64(o) + 0.5) * scale
		lo := max(int(math.Floor(c-support+0.5)), 0)
		hi := min(int(math.Floor(c+support+0.5)), in)
		if hi-lo > n {
			hi = lo + n
		}
		var sum float64
		ws := make([]float64, hi-lo)
		for i := lo; i < hi; i++ {
			v := 1 - math.Abs((float64(i)+0.5-c)/fs)
			if v < 0 {
				v = 0
			}
			ws[i-lo] = v
			sum += v
		}
		t.start[o] = lo
		for i, v := range ws {
			if sum > 0 {
				t.w[o*n+i] = float32(v / sum)
			}
		}
	}
	return t
}

func newLinearResizer(inW, inH, outW, outH int) *linearResizer {
	return &linearResizer{inW: inW, inH: inH, outW: outW, outH: outH,
		hx: linearTaps(inW, outW), hy: linearTaps(inH, outH), tmp: make([]float32, outW*inH)}
}

// resize resizes one plane.
func (r *linearResizer) resize(dst, src []float32) {
	for y := range r.inH {
		in := src[y*r.inW : (y+1)*r.inW]
		out := r.tmp[y*r.outW : (y+1)*r.outW]
		for x := range out {
			s := r.hx.start[x]
			w := r.hx.w[x*r.hx.n : (x+1)*r.hx.n]
			var acc float32
			for k := 0; k < r.hx.n && s+k < r.inW; k++ {
				acc += w[k] * in[s+k]
			}
			out[x] = acc
		}
	}
	for y := range r.outH {
		out := dst[y*r.outW : (y+1)*r.outW]
		clear(out)
		s := r.hy.start[y]
		for k := 0; k < r.hy.n && s+k < r.inH; k++ {
			wk := r.hy.w[y*r.hy.n+k]
			if wk == 0 {
				continue
			}
			in := r.tmp[(s+k)*r.outW : (s+k+1)*r.outW]
			for i, v := range in {
				out[i] += wk * v
			}
		}
	}
}

// normalizedSquare writes the 3 planes of src (w x h, [0,1]) resized to s x s and ImageNet-
// normalised into dst (3*s*s).
func (r *linearResizer) normalizedSquare(dst, src []float32) {
	n, m := r.inW*r.inH, r.outW*r.outH
	for c := range 3 {
		out := dst[c*m : (c+1)*m]
		r.resize(out, src[c*n:(c+1)*n])
		mean, inv := imagenetMean[c], 1/imagenetStd[c]
		for i, v := range out {
			out[i] = (v - mean) * inv
		}
	}
}
