package frame

import (
	"fmt"
	"math"
)

// PSNR returns the peak signal-to-noise ratio in dB between two frames of equal size, over all three
// channels, with samples quantised to 8 bits first (the way the result would be stored). Identical
// frames give +Inf. Frames of different sizes give ErrSizeMismatch, and a NaN or infinite sample
// ErrNotFinite, rather than a number a threshold could mistake for a result.
func PSNR(a, b *Frame) (float64, error) {
	if err := comparable(a, b); err != nil {
		return math.NaN(), fmt.Errorf("psnr: %w", err)
	}
	var sum float64
	for i := range a.Pix {
		d := float64(To8(a.Pix[i])) - float64(To8(b.Pix[i]))
		sum += d * d
	}
	if sum == 0 {
		return math.Inf(1), nil
	}
	mse := sum / float64(len(a.Pix))
	return 10 * math.Log10(255*255/mse), nil
}

// MaxDiff returns the largest absolute difference between two frames of equal size in 8-bit steps,
// with samples quantised as by PSNR. It fails like PSNR on a size mismatch or a non-finite sample.
func MaxDiff(a, b *Frame) (int, error) {
	if err := comparable(a, b); err != nil {
		return -1, fmt.Errorf("max diff: %w", err)
	}
	m := 0
	for i := range a.Pix {
		d := int(To8(a.Pix[i])) - int(To8(b.Pix[i]))
		m = max(m, d, -d)
	}
	return m, nil
}

// comparable checks that a and b have the same size and only finite samples.
func comparable(a, b *Frame) error {
	if a.W != b.W || a.H != b.H || len(a.Pix) != 3*a.W*a.H || len(b.Pix) != 3*b.W*b.H {
		return fmt.Errorf("%w: %dx%d (%d samples) vs %dx%d (%d samples)", ErrSizeMismatch,
			a.W, a.H, len(a.Pix), b.W, b.H, len(b.Pix))
	}
	for _, f := range []*Frame{a, b} {
		for i, v := range f.Pix {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: sample %d of a %dx%d frame is %v", ErrNotFinite, i, f.W, f.H, v)
			}
		}
	}
	return nil
}
