package realesrgan

import (
	"math"
	"testing"
)

// TestQuantiles checks the calibration's quantile ranges on values whose quantiles are known: the
// integers 0..9999 (one per bin's width apart), and a tail of a few large values that p < 1 cuts off.
func TestQuantiles(t *testing.T) {
	var st channelStats
	v := make([]float32, 10000)
	for i := range v {
		v[i] = float32(i)
	}
	st.extremes(v)
	st.count(v)
	width := float32(9999) / calibrationBins
	for _, c := range []struct {
		p      float64
		lo, hi float32
	}{
		{1, 0, 9999},
		{0.99, 50, 9949}, // 50 values cut at each end
		{0.9, 500, 9499},
	} {
		r := st.quantiles(c.p)
		if !(math.Abs(float64(r.Min-c.lo)) <= float64(width)) || !(math.Abs(float64(r.Max-c.hi)) <= float64(width)) {
			t.Errorf("p=%v: range %v, want [%v, %v] within %v", c.p, r, c.lo, c.hi, width)
		}
	}
	var tail channelStats
	w := append(make([]float32, 0, 1003), v[:1000]...)
	w = append(w, 1e6, 2e6, 3e6) // 3 outliers in 1003 values
	tail.extremes(w)
	tail.count(w)
	if r := tail.quantiles(0.99); !(r.Max < 1e4) {
		t.Errorf("p=0.99 kept the outliers: %v", r)
	}
	if r := tail.quantiles(1); r.Max != 3e6 {
		t.Errorf("p=1: %v, want the extremes", r)
	}
}
