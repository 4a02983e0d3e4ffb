package onnx

import (
	"math"
	"testing"
)

func TestFloat16(t *testing.T) {
	cases := []struct {
		f float32
		h uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                          // largest normal
		{float32(math.Ldexp(1, -14)), 0x0400},    // smallest normal
		{float32(math.Ldexp(1, -24)), 0x0001},    // smallest subnormal
		{float32(math.Ldexp(1023, -24)), 0x03ff}, // largest subnormal
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{0.333251953125, 0x3555},
	}
	for _, c := range cases {
		if got := Float32ToFloat16(c.f); got != c.h {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
		if got := Float16ToFloat32(c.h); got != c.f || math.Signbit(float64(got)) != math.Signbit(float64(c.f)) {
			t.Errorf("Float16ToFloat32(%#04x) = %g, want %g", c.h, got, c.f)
		}
	}

	rounding := []struct {
		f float32
		h uint16
	}{
		{1 + 1.0/2048, 0x3c00},             // tie between 0x3c00 and 0x3c01: even
		{1 + 3.0/2048, 0x3c02},             // tie between 0x3c01 and 0x3c02: even
		{1 + 1.0/2048 + 1.0/65536, 0x3c01}, // just above the tie
		{65519, 0x7bff},                    // below the Inf rounding threshold
		{65520, 0x7c00},                    // tie to even rounds up to Inf
		{1e10, 0x7c00},                     // overflow
		{-1e10, 0xfc00},
		{float32(math.Ldexp(1, -25)), 0x0000},    // tie between 0 and the smallest subnormal: even
		{float32(math.Ldexp(1.5, -25)), 0x0001},  // above that tie
		{float32(math.Ldexp(3, -25)), 0x0002},    // tie between 1 and 2 subnormal units: even
		{float32(math.Ldexp(1, -26)), 0x0000},    // underflow
		{float32(-math.Ldexp(1, -30)), 0x8000},   // underflow keeps the sign
		{float32(math.Ldexp(2047, -25)), 0x0400}, // largest-subnormal tie carries into the smallest normal
		{1e-45, 0x0000},                          // float32 subnormal
	}
	for _, c := range rounding {
		if got := Float32ToFloat16(c.f); got != c.h {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}

	nan := Float32ToFloat16(float32(math.NaN()))
	if nan&0x7c00 != 0x7c00 || nan&0x3ff == 0 {
		t.Errorf("Float32ToFloat16(NaN) = %#04x, not a NaN", nan)
	}
	// A signalling NaN whose payload lies only in the low bits must not become Inf.
	snan := math.Float32frombits(0x7f800001)
	if h := Float32ToFloat16(snan); h&0x3ff == 0 {
		t.Errorf("Float32ToFloat16(sNaN) = %#04x, not a NaN", h)
	}
	if f := Float16ToFloat32(0x7e00); !math.IsNaN(float64(f)) {
		t.Errorf("Float16ToFloat32(0x7e00) = %g, want NaN", f)
	}

	// Every non-NaN half survives a round trip through float32.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := Float32ToFloat16(Float16ToFloat32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip %#04x -> %g -> %#04x", h, Float16ToFloat32(uint16(h)), got)
		}
	}
}
