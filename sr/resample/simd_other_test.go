//go:build !amd64

package resample

import "testing"

// useAVX2 reports false: this architecture has only the Go loops.
func useAVX2(t *testing.T, on bool) bool { return false }
