//go:build !amd64

package resample

// hasAVX2 is false: there are no vector kernels on this architecture.
const hasAVX2 = false

// sumRowsSIMD has no vector version on this architecture; callers fall back to Go loops.
func sumRowsSIMD(out []float32, rows [][]float32, w []float32, clamp bool) int { return 0 }

// toFloatSIMD has no vector version on this architecture.
func toFloatSIMD[T uint8 | uint16](dst []float32, src []T, scale float32) int { return 0 }

// fromFloatSIMD has no vector version on this architecture.
func fromFloatSIMD[T uint8 | uint16](dst []T, src []float32, scale float32) int { return 0 }
