package resample

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
)

// pillowDir holds Pillow's own resizes of float images, written by its gen.py.
var pillowDir = filepath.Join("..", "..", "testdata", "pillow")

// pillowTol bounds |ours - Pillow's|. Pillow computes its weights and sums in float64 (float32
// between its two passes); we keep float32 weights and sums: 2.4e-7 at most on these cases.
const pillowTol = 1e-6

type pillowCase struct {
	filter               Filter
	inW, inH, outW, outH int
	file                 string
}

func readPillowCases(t *testing.T) []pillowCase {
	t.Helper()
	f, err := os.Open(filepath.Join(pillowDir, "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []pillowCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var c pillowCase
		var name string
		if _, err := fmt.Sscan(line, &name, &c.inW, &c.inH, &c.outW, &c.outH, &c.file); err != nil {
			t.Fatalf("cases.txt: %q: %v", line, err)
		}
		if c.filter, err = ParseFilter(name); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("cases.txt lists no resize")
	}
	return cases
}

// readF32 reads n little-endian float32 values, failing unless the file holds exactly n.
func readF32(t *testing.T, name string, n int) []float32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pillowDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4*n {
		t.Fatalf("%s: %d bytes, want %d (%d float32)", name, len(b), 4*n, n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// TestPillow compares Lanczos, bicubic and area resizes, up and down, integer and non-integer
// ratios, with Pillow's (Image.resize of "F" images with LANCZOS, BICUBIC and BOX), once on the
// AVX2 kernels and once on the Go loops. Pillow does not clamp float images and we clamp to [0,1]
// (the package's convention), so the expected values are Pillow's clamped to [0,1].
func TestPillow(t *testing.T) {
	cases := readPillowCases(t)
	for _, simd := range []bool{true, false} {
		name := map[bool]string{true: "avx2", false: "go"}[simd]
		t.Run(name, func(t *testing.T) {
			if useAVX2(t, simd) != simd {
				t.Skip("no AVX2 on this CPU")
			}
			worst := map[Filter]float64{}
			for _, c := range cases {
				in := readF32(t, fmt.Sprintf("src-%dx%d.f32", c.inW, c.inH), c.inW*c.inH)
				want := readF32(t, c.file, c.outW*c.outH)
				src := frame.New(c.inW, c.inH)
				for p := range 3 {
					copy(src.Plane(p), in)
				}
				in0 := append([]float32(nil), src.Pix...)
				dst := frame.New(c.outW, c.outH)
				if err := Resize(c.filter, dst, src); err != nil {
					t.Fatal(err)
				}
				for i, v := range src.Pix {
					if v != in0[i] {
						t.Fatalf("%s: the input changed at %d", c.file, i)
					}
				}
				for p := range 3 {
					for i, got := range dst.Plane(p) {
						w := math.Min(math.Max(float64(want[i]), 0), 1)
						d := math.Abs(float64(got) - w)
						if !(d <= pillowTol) {
							t.Fatalf("%s: plane %d sample (%d,%d) = %v, Pillow %v (clamped %v), |d| = %.3g > %g",
								c.file, p, i%c.outW, i/c.outW, got, want[i], w, d, pillowTol)
						}
						worst[c.filter] = max(worst[c.filter], d)
					}
				}
			}
			for _, f := range []Filter{Lanczos, Bicubic, Area} {
				t.Logf("%v: max |ours - Pillow| = %.3g", f, worst[f])
			}
		})
	}
}
