package resample

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
)

func randomFrame(w, h int, seed uint64) *frame.Frame {
	f := frame.New(w, h)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range f.Pix {
		f.Pix[i] = r.Float32()
	}
	return f
}

// A constant image stays constant under every filter and scale (weights sum to 1).
func TestConstantPreserved(t *testing.T) {
	for _, f := range []Filter{Lanczos, Bicubic, Area} {
		for _, sz := range [][4]int{{64, 48, 128, 96}, {64, 48, 16, 12}, {97, 61, 388, 244}, {100, 100, 33, 71}} {
			src := frame.New(sz[0], sz[1])
			for i := range src.Pix {
				src.Pix[i] = 0.25
			}
			dst := frame.New(sz[2], sz[3])
			if err := Resize(f, dst, src); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Pix {
				if !(math.Abs(float64(v)-0.25) <= 1e-5) {
					t.Fatalf("%v %v: pixel %d = %v", f, sz, i, v)
				}
			}
		}
	}
}

// Identity size copies exactly.
func TestIdentity(t *testing.T) {
	src := randomFrame(33, 17, 1)
	dst := frame.New(33, 17)
	if err := Resize(Lanczos, dst, src); err != nil {
		t.Fatal(err)
	}
	for i := range src.Pix {
		if src.Pix[i] != dst.Pix[i] {
			t.Fatalf("pixel %d: %v != %v", i, dst.Pix[i], src.Pix[i])
		}
	}
}

// Bicubic x2 of a linear ramp reproduces the ramp in the interior (cubic kernels are exact on
// linear functions), which pins the pixel-centre convention.
func TestRampCentres(t *testing.T) {
	w := 32
	src := frame.New(w, 1)
	for c := 0; c < 3; c++ {
		p := src.Plane(c)
		for x := range p {
			p[x] = (float32(x) + 0.5) / float32(w)
		}
	}
	dst := frame.New(2*w, 1)
	if err := Resize(Bicubic, dst, src); err != nil {
		t.Fatal(err)
	}
	p := dst.Plane(0)
	for x := 4; x < 2*w-4; x++ {
		want := (float64(x) + 0.5) / float64(2*w)
		if !(math.Abs(float64(p[x])-want) <= 1e-5) {
			t.Fatalf("x=%d: %v, want %v", x, p[x], want)
		}
	}
}

// Shrinking antialiases: a one-pixel checkerboard shrunk 4x becomes flat grey.
func TestAntialias(t *testing.T) {
	src := frame.New(64, 64)
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			v := float32((x + y) % 2)
			for c := 0; c < 3; c++ {
				src.Plane(c)[y*64+x] = v
			}
		}
	}
	dst := frame.New(16, 16)
	Resize(Lanczos, dst, src)
	for i, v := range dst.Pix {
		if !(math.Abs(float64(v)-0.5) <= 0.02) {
			t.Fatalf("pixel %d = %v, want 0.5 (aliasing)", i, v)
		}
	}
}

func BenchmarkLanczos720pX2(b *testing.B) {
	src := randomFrame(1280, 720, 2)
	dst := frame.New(2560, 1440)
	r, _ := NewResizer(Lanczos, 1280, 720, 2560, 1440)
	b.SetBytes(int64(len(dst.Pix) * 4))
	for i := 0; i < b.N; i++ {
		r.Resize(dst, src)
	}
}
