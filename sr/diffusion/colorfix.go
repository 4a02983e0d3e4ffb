package diffusion

import (
	"fmt"
	"math"
)

// ColorFix names a colour correction applied to the decoded image against the condition image.
type ColorFix string

// Colour corrections.
const (
	// ColorAdaIN remaps each channel's mean and std (unbiased variance + 1e-5) to the reference's.
	ColorAdaIN ColorFix = "adain"
	// ColorWavelet keeps the output's high frequencies over the reference's low frequencies
	// (5-level a-trous [1,2,1]^2/16 blur, dilation 2^i, replicate padding).
	ColorWavelet ColorFix = "wavelet"
	// ColorNone leaves the decoded image as it is (still clamped to [0,1]).
	ColorNone ColorFix = "none"
)

func parseColorFix(s string) (ColorFix, error) {
	switch ColorFix(s) {
	case "", ColorAdaIN:
		return ColorAdaIN, nil
	case ColorWavelet, ColorNone:
		return ColorFix(s), nil
	}
	return "", fmt.Errorf("diffusion: unknown colour fix %q (want adain, wavelet or none)", s)
}

// meanStd returns the mean and sqrt(unbiased variance + 1e-5) of p (torch's var(dim) + eps).
func meanStd(p []float32) (mean, std float64) {
	var s float64
	for _, v := range p {
		s += float64(v)
	}
	mean = s / float64(len(p))
	var ss float64
	for _, v := range p {
		d := float64(v) - mean
		ss += d * d
	}
	n := float64(len(p) - 1)
	if n < 1 {
		n = 1
	}
	return mean, math.Sqrt(ss/n + 1e-5)
}

// adain remaps out (planar, c planes of n) per plane to the mean and std of ref, in place.
func adain(out, ref []float32, planes int) {
	n := len(out) / planes
	for c := range planes {
		o, r := out[c*n:(c+1)*n], ref[c*n:(c+1)*n]
		om, os := meanStd(o)
		rm, rs := meanStd(r)
		scale := rs / os
		for i, v := range o {
			o[i] = float32((float64(v)-om)*scale + rm)
		}
	}
}

// waveletBlur is one a-trous level: the [1,2,1]x[1,2,1]/16 kernel at dilation r with replicate
// padding, on one w x h plane, from src into dst (tmp is scratch of the same size).
func waveletBlur(dst, src, tmp []float32, w, h, r int) {
	clamp := func(v, n int) int {
		if v < 0 {
			return 0
		}
		if v >= n {
			return n - 1
		}
		return v
	}
	for y := range h {
		row := src[y*w : (y+1)*w]
		out := tmp[y*w : (y+1)*w]
		for x := range w {
			out[x] = 0.25*row[clamp(x-r, w)] + 0.5*row[x] + 0.25*row[clamp(x+r, w)]
		}
	}
	for y := range h {
		up := tmp[clamp(y-r, h)*w:][:w]
		mid := tmp[y*w:][:w]
		dn := tmp[clamp(y+r, h)*w:][:w]
		out := dst[y*w : (y+1)*w]
		for x := range w {
			out[x] = 0.25*up[x] + 0.5*mid[x] + 0.25*dn[x]
		}
	}
}

// waveletLow returns the low-frequency residue after 5 a-trous levels of plane p (w x h); the
// high frequencies are p - low (the levels telescope).
func waveletLow(p []float32, w, h int) []float32 {
	cur := append([]float32(nil), p...)
	next := make([]float32, len(p))
	tmp := make([]float32, len(p))
	for i := range 5 {
		waveletBlur(next, cur, tmp, w, h, 1<<i)
		cur, next = next, cur
	}
	return cur
}

// waveletFix replaces the low frequencies of out (planar, c planes of w x h) by those of ref.
func waveletFix(out, ref []float32, w, h, planes int) {
	n := w * h
	for c := range planes {
		o, r := out[c*n:(c+1)*n], ref[c*n:(c+1)*n]
		lo := waveletLow(o, w, h)
		lr := waveletLow(r, w, h)
		for i := range o {
			o[i] = o[i] - lo[i] + lr[i]
		}
	}
}

// colorFix applies fix to out against ref (both 3 planes of w x h), then clamps to [0,1].
func colorFix(fix ColorFix, out, ref []float32, w, h int) {
	switch fix {
	case ColorAdaIN:
		adain(out, ref, 3)
	case ColorWavelet:
		waveletFix(out, ref, w, h, 3)
	}
	clamp01(out)
}

func clamp01(p []float32) {
	for i, v := range p {
		if v < 0 {
			p[i] = 0
		} else if v > 1 {
			p[i] = 1
		}
	}
}
