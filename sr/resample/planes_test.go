package resample

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// refPlane resizes a plane of [0,maxv] samples the way swscale does, written out directly in
// float64 and independently of the package's weights: output pixel o of each pass samples the
// Lanczos-3 kernel at the input pixel centres around (o+0.5)*in/out-0.5, reading an input index
// outside the plane as its nearest edge sample, divided by the sum of the taps; the result is
// clamped and rounded once, at the end.
func refPlane(src []float64, inW, inH, outW, outH int, maxv float64) []float64 {
	lanczos := func(x float64) float64 {
		x = math.Abs(x)
		if x == 0 {
			return 1
		}
		if x >= 3 {
			return 0
		}
		return 3 * math.Sin(math.Pi*x) * math.Sin(math.Pi*x/3) / (math.Pi * math.Pi * x * x)
	}
	pass := func(get func(i int) float64, in, out int) []float64 {
		res := make([]float64, out)
		for o := range res {
			c := (float64(o)+0.5)*float64(in)/float64(out) - 0.5
			var acc, sum float64
			for i := int(math.Floor(c)) - 3; i <= int(math.Floor(c))+4; i++ {
				w := lanczos(float64(i) - c)
				acc += w * get(min(max(i, 0), in-1))
				sum += w
			}
			res[o] = acc / sum
		}
		return res
	}
	tmp := make([]float64, outW*inH)
	for y := 0; y < inH; y++ {
		copy(tmp[y*outW:], pass(func(i int) float64 { return src[y*inW+i] }, inW, outW))
	}
	dst := make([]float64, outW*outH)
	for x := 0; x < outW; x++ {
		col := pass(func(i int) float64 { return tmp[i*outW+x] }, inH, outH)
		for y, v := range col {
			dst[y*outW+x] = math.Round(min(max(v, 0), maxv))
		}
	}
	return dst
}

// TestPlaneResizerReference compares 8- and 10-bit planes, at luma and 4:2:0 chroma sizes and an
// odd one, with refPlane: float32 arithmetic may round a value lying within a hair of .5 the other
// way, so a sample may differ by one step, rarely (mean difference at most 0.01 steps; truncating
// instead of rounding would make it about 0.5), never by two.
func TestPlaneResizerReference(t *testing.T) {
	for _, avx := range []bool{false, true} {
		t.Run(map[bool]string{false: "go", true: "avx2"}[avx], func(t *testing.T) {
			if useAVX2(t, avx) != avx {
				t.Skip("no AVX2")
			}
			testPlaneResizerReference(t)
		})
	}
}

func testPlaneResizerReference(t *testing.T) {
	for _, c := range []struct{ inW, inH, outW, outH, depth int }{
		{64, 36, 128, 72, 8}, {32, 18, 64, 36, 8}, {33, 17, 50, 40, 8}, {64, 36, 128, 72, 10}, {40, 30, 60, 45, 10},
	} {
		rng := rand.New(rand.NewSource(int64(c.inW*100 + c.depth)))
		maxv := 1<<c.depth - 1
		src := make([]float64, c.inW*c.inH)
		for i := range src {
			// Smooth gradients with noise and hard edges at the borders, where edge handling shows.
			x, y := i%c.inW, i/c.inW
			v := float64(maxv) * (0.5 + 0.4*math.Sin(float64(x)/3)*math.Cos(float64(y)/4))
			if x == 0 || y == c.inH-1 {
				v = float64(maxv) * float64(rng.Intn(2))
			}
			src[i] = math.Round(min(max(v+rng.NormFloat64()*float64(maxv)/20, 0), float64(maxv)))
		}
		want := refPlane(src, c.inW, c.inH, c.outW, c.outH, float64(maxv))
		p, err := NewPlaneResizer(Lanczos, c.inW, c.inH, c.outW, c.outH)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, c.outW*c.outH)
		if c.depth == 8 {
			s, d := make([]uint8, len(src)), make([]uint8, len(got))
			for i, v := range src {
				s[i] = uint8(v)
			}
			if err := p.Resize8(d, s); err != nil {
				t.Fatal(err)
			}
			for i, v := range d {
				got[i] = float64(v)
			}
		} else {
			s, d := make([]uint16, len(src)), make([]uint16, len(got))
			for i, v := range src {
				s[i] = uint16(v)
			}
			if err := p.Resize16(d, s, c.depth); err != nil {
				t.Fatal(err)
			}
			for i, v := range d {
				got[i] = float64(v)
			}
		}
		var sum, worst float64
		for i := range got {
			d := math.Abs(got[i] - want[i])
			sum += d
			worst = max(worst, d)
		}
		name := func(s string) string { return fmt.Sprintf("%d-bit %dx%d: %s", c.depth, c.inW, c.inH, s) }
		t.Logf("%dx%d->%dx%d %d-bit: max %g, mean %.4f", c.inW, c.inH, c.outW, c.outH, c.depth, worst, sum/float64(len(got)))
		mediatest.AtMost(t, name("max difference from the reference"), worst, 1)
		mediatest.AtMost(t, name("mean difference from the reference"), sum/float64(len(got)), 0.01)
	}
}

// TestPlaneResizerSizes checks that planes of the wrong length are refused, not read past.
func TestPlaneResizerSizes(t *testing.T) {
	p, err := NewPlaneResizer(Lanczos, 8, 4, 16, 8)
	if err != nil {
		t.Fatal(err)
	}
	if p.Resize8(make([]uint8, 16*8), make([]uint8, 8*4-1)) == nil {
		t.Error("short source: no error")
	}
	if p.Resize16(make([]uint16, 16*8-1), make([]uint16, 8*4), 10) == nil {
		t.Error("short destination: no error")
	}
	if p.Resize16(make([]uint16, 16*8), make([]uint16, 8*4), 17) == nil {
		t.Error("depth 17: no error")
	}
}

// BenchmarkPlanesLanczos720pX2 is the classical path's resampling of one 1280x720 yuv420p frame to
// 2560x1440: the luma plane and two 640x360 chroma planes.
func BenchmarkPlanesLanczos720pX2(b *testing.B) {
	luma, err := NewPlaneResizer(Lanczos, 1280, 720, 2560, 1440)
	if err != nil {
		b.Fatal(err)
	}
	chroma, err := NewPlaneResizer(Lanczos, 640, 360, 1280, 720)
	if err != nil {
		b.Fatal(err)
	}
	src, dst := make([]uint8, 1280*720), make([]uint8, 2560*1440)
	for i := range src {
		src[i] = uint8(i * 7)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := luma.Resize8(dst, src); err != nil {
			b.Fatal(err)
		}
		for c := 0; c < 2; c++ {
			if err := chroma.Resize8(dst[:1280*720], src[:640*360]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
