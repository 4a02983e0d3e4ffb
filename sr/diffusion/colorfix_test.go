package diffusion

import (
	"math"
	"testing"
)

func TestAdaIN(t *testing.T) {
	// One plane each: out {1,2,3,4} (mean 2.5, unbiased var 5/3), ref {0,0,1,1} (mean 0.5, var 1/3).
	out := []float32{1, 2, 3, 4}
	ref := []float32{0, 0, 1, 1}
	adain(out, ref, 1)
	os, rs := math.Sqrt(5.0/3+1e-5), math.Sqrt(1.0/3+1e-5)
	for i, v := range []float64{1, 2, 3, 4} {
		want := (v-2.5)/os*rs + 0.5
		if !(math.Abs(float64(out[i])-want) <= 1e-6) {
			t.Errorf("out[%d] = %g, want %g", i, out[i], want)
		}
	}
}

// naiveBlur is the a-trous level written as a 2D convolution with replicate padding, as
// F.pad(mode='replicate') + conv2d(dilation=r) computes it.
func naiveBlur(p []float64, w, h, r int) []float64 {
	k := [3][3]float64{{1, 2, 1}, {2, 4, 2}, {1, 2, 1}}
	cl := func(v, n int) int { return min(max(v, 0), n-1) }
	out := make([]float64, len(p))
	for y := range h {
		for x := range w {
			var s float64
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					s += k[dy+1][dx+1] / 16 * p[cl(y+dy*r, h)*w+cl(x+dx*r, w)]
				}
			}
			out[y*w+x] = s
		}
	}
	return out
}

func TestWavelet(t *testing.T) {
	const w, h = 7, 5
	out := make([]float32, 3*w*h)
	ref := make([]float32, 3*w*h)
	for i := range out {
		out[i] = float32(math.Sin(float64(i)*1.7)*0.4 + 0.5)
		ref[i] = float32(math.Cos(float64(i)*0.3)*0.3 + 0.4)
	}
	// Expected: high(out) + low(ref), with high = sum over levels of (img - blur(img)).
	want := make([]float64, len(out))
	n := w * h
	for c := range 3 {
		dec := func(p []float32) (high, low []float64) {
			img := make([]float64, n)
			for i := range img {
				img[i] = float64(p[c*n+i])
			}
			high = make([]float64, n)
			for lv := range 5 {
				lo := naiveBlur(img, w, h, 1<<lv)
				for i := range high {
					high[i] += img[i] - lo[i]
				}
				img = lo
			}
			return high, img
		}
		hi, _ := dec(out)
		_, lo := dec(ref)
		for i := range n {
			want[c*n+i] = hi[i] + lo[i]
		}
	}
	got := append([]float32(nil), out...)
	waveletFix(got, ref, w, h, 3)
	for i := range got {
		if !(math.Abs(float64(got[i])-want[i]) <= 1e-5) {
			t.Fatalf("sample %d: %g, want %g", i, got[i], want[i])
		}
	}
}

func TestColorFixClamps(t *testing.T) {
	out := []float32{-0.5, 0.5, 1.5}
	colorFix(ColorNone, out, nil, 3, 1)
	if out[0] != 0 || out[1] != 0.5 || out[2] != 1 {
		t.Errorf("%v", out)
	}
}
