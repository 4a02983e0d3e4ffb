package resample

import "unsafe"

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv0() (eax uint32)

//go:noescape
func sumRowsAVX2(out *float32, n int, rows *unsafe.Pointer, w *float32, taps int, clamp bool)

//go:noescape
func toFloatAVX2(dst *float32, src unsafe.Pointer, n int, scale float32, wide bool)

//go:noescape
func fromFloatAVX2(dst unsafe.Pointer, src *float32, n int, scale float32, wide bool)

// hasAVX2 reports AVX2 and FMA with the OS saving the YMM registers.
var hasAVX2 = func() bool {
	max, _, _, _ := cpuid(0, 0)
	if max < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 || xgetbv0()&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}()

// sumRowsSIMD writes out[i] = Σ w[k]*rows[k][i] for the largest multiple of 8 of len(out) and
// returns how many it wrote (0 without AVX2). Every row must hold at least len(out) values.
func sumRowsSIMD(out []float32, rows [][]float32, w []float32, clamp bool) int {
	n := len(out) &^ 7
	if !hasAVX2 || n == 0 || len(rows) == 0 || len(rows) > 16 {
		return 0
	}
	var ptrs [16]unsafe.Pointer
	for k, r := range rows {
		_ = r[n-1] // bounds: every row covers the span
		ptrs[k] = unsafe.Pointer(&r[0])
	}
	sumRowsAVX2(&out[0], n, &ptrs[0], &w[0], len(rows), clamp)
	return n
}

// toFloatSIMD writes dst[i] = float32(src[i])*scale for the largest multiple of 8 of len(dst), src
// being []uint8 or []uint16 at least that long, and returns how many it wrote (0 without AVX2).
func toFloatSIMD[T uint8 | uint16](dst []float32, src []T, scale float32) int {
	n := min(len(dst), len(src)) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	var zero T
	toFloatAVX2(&dst[0], unsafe.Pointer(&src[0]), n, scale, unsafe.Sizeof(zero) == 2)
	return n
}

// fromFloatSIMD writes dst[i] = T(src[i]*scale + 0.5), truncated, for the largest multiple of 8
// of len(dst), src being in [0,1] and scale the largest value of T at most; it returns how many it
// wrote (0 without AVX2).
func fromFloatSIMD[T uint8 | uint16](dst []T, src []float32, scale float32) int {
	n := min(len(dst), len(src)) &^ 7
	if !hasAVX2 || n == 0 {
		return 0
	}
	var zero T
	fromFloatAVX2(unsafe.Pointer(&dst[0]), &src[0], n, scale, unsafe.Sizeof(zero) == 2)
	return n
}
