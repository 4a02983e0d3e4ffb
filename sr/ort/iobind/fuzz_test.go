package iobind

import (
	"bytes"
	"testing"
)

// FuzzReadProfile: any bytes give a profile or an error, never a panic, and counts are never
// negative.
func FuzzReadProfile(f *testing.F) {
	f.Add([]byte(profileSnippet))
	f.Add([]byte(profileSnippet[:200]))
	f.Add([]byte(`[{"cat":"Node","name":"x_kernel_time","args":{"op_name":"MemcpyToHost","provider":"CUDA"}}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadProfile(bytes.NewReader(b))
		if err != nil {
			return
		}
		if p.Runs < 0 || p.Nodes < 0 || len(p.Copies) > p.Nodes || len(p.Providers) > p.Nodes {
			t.Fatalf("profile %+v from %q", p, b)
		}
	})
}
