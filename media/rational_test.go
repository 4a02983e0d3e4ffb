package media

import (
	"math"
	"testing"
)

func TestRescale(t *testing.T) {
	us := Rational{1, 1_000_000}
	for _, c := range []struct {
		v        int64
		from, to Rational
		want     int64
	}{
		{0, Rational{1, 30}, us, 0},
		{1001, Rational{1, 30000}, us, 33367},    // 33366.67
		{1000, Rational{1, 30000}, us, 33333},    // 33333.33
		{3, Rational{1, 4}, Rational{1, 2}, 2},   // 1.5: half up
		{5, Rational{1, 4}, Rational{1, 2}, 3},   // 2.5: half up, not to even
		{-3, Rational{1, 4}, Rational{1, 2}, -2}, // -1.5: half away from zero
		{-1001, Rational{1, 30000}, us, -33367},
		{1, Rational{1, 3}, Rational{1, 1}, 0}, // 0.33
		{2, Rational{1, 3}, Rational{1, 1}, 1}, // 0.67
		{90000, Rational{1, 90000}, Rational{1, 1000}, 1000},
		{1 << 62, Rational{3, 1}, Rational{2, 1}, 6917529027641081856}, // 1.5 * 2^62: v*3 overflows int64 on the way
		{1 << 62, Rational{4, 1}, Rational{1, 1}, math.MinInt64},       // 2^64 does not fit
		{1, Rational{1, 0}, us, math.MinInt64},                         // no time base
		{1, Rational{1, 30}, Rational{0, 1}, math.MinInt64},
	} {
		if got := Rescale(c.v, c.from, c.to); got != c.want {
			t.Errorf("Rescale(%d, %v, %v) = %d, want %d", c.v, c.from, c.to, got, c.want)
		}
	}
}
