//go:build !amd64

package resample

// sumRowsSIMD has no vector version on this architecture; callers fall back to Go loops.
func sumRowsSIMD(out []float32, rows [][]float32, w []float32, clamp bool) int { return 0 }
