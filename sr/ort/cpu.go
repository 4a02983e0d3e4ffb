package ort

import (
	"os"
	"strings"
	"sync"
)

// CPUHasVNNI reports whether the CPU has the x86 dot-product instructions ONNX Runtime's int8
// kernels are fast with: AVX512-VNNI or AVX-VNNI. Without them int8 convolutions run on
// AVX2/AVX-512 multiply-adds that are little faster than float ones. It reads /proc/cpuinfo, so it
// is false off Linux.
func CPUHasVNNI() bool {
	vnniOnce.Do(func() {
		b, err := os.ReadFile("/proc/cpuinfo")
		vnni = err == nil && cpuinfoHasVNNI(string(b))
	})
	return vnni
}

var (
	vnniOnce sync.Once
	vnni     bool
)

// cpuinfoHasVNNI looks for avx512_vnni or avx_vnni among the first processor's flags.
func cpuinfoHasVNNI(cpuinfo string) bool {
	for _, line := range strings.Split(cpuinfo, "\n") {
		key, flags, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, f := range strings.Fields(flags) {
			if f == "avx512_vnni" || f == "avx_vnni" {
				return true
			}
		}
		return false
	}
	return false
}
