package media

import (
	"math"
	"math/bits"
)

// Rational is a fraction such as a time base (1/90000) or a frame rate (30000/1001). Num and Den
// fit in 32 bits, as FFmpeg's do.
type Rational struct{ Num, Den int }

// Valid reports whether r is a positive fraction.
func (r Rational) Valid() bool { return r.Num > 0 && r.Den > 0 }

// Rescale converts v from units of from to units of to, exactly, rounding to the nearest and
// halves away from zero, as FFmpeg's av_rescale_q does. Like it, Rescale returns math.MinInt64
// (FFmpeg's "no timestamp") when either rational is not positive or the result does not fit.
func Rescale(v int64, from, to Rational) int64 {
	b := int64(from.Num) * int64(to.Den)
	c := int64(to.Num) * int64(from.Den)
	if b < 0 || c <= 0 {
		return math.MinInt64
	}
	a := uint64(v)
	if v < 0 {
		a = uint64(-max(v, -math.MaxInt64))
	}
	hi, lo := bits.Mul64(a, uint64(b))
	var carry uint64
	lo, carry = bits.Add64(lo, uint64(c/2), 0)
	hi += carry
	if hi >= uint64(c) {
		return math.MinInt64 // the quotient needs more than 64 bits
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > math.MaxInt64 {
		return math.MinInt64
	}
	if v < 0 {
		return -int64(q)
	}
	return int64(q)
}
