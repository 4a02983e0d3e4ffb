package ort

import "testing"

func TestCPUInfoVNNI(t *testing.T) {
	for _, c := range []struct {
		info string
		want bool
	}{
		{"processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\n", true},
		{"flags\t: fpu avx2 avx_vnni\n", true},
		{"flags\t: fpu avx2 avx512f avx512vl\nflags\t: avx512_vnni\n", false}, // the first processor's flags decide
		{"flags\t: fpu avx2 avx512_vnnix\n", false},
		{"model name\t: vnni avx512_vnni\n", false},
		{"", false},
	} {
		if got := cpuinfoHasVNNI(c.info); got != c.want {
			t.Errorf("cpuinfoHasVNNI(%q) = %v, want %v", c.info, got, c.want)
		}
	}
}
