package frame

import "math"

// PSNR returns the peak signal-to-noise ratio in dB between two frames of equal size, over all three
// channels, with samples quantised to 8 bits first (the way the result would be stored). Identical
// frames give +Inf.
func PSNR(a, b *Frame) float64 {
	if a.W != b.W || a.H != b.H {
		return math.NaN()
	}
	var sum float64
	for i := range a.Pix {
		d := float64(To8(a.Pix[i])) - float64(To8(b.Pix[i]))
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1)
	}
	mse := sum / float64(len(a.Pix))
	return 10 * math.Log10(255*255/mse)
}
