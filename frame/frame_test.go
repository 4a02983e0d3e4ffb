package frame

import (
	"errors"
	"math"
	"testing"
)

func TestTo8(t *testing.T) {
	cases := []struct {
		in   float32
		want uint8
	}{{-1, 0}, {0, 0}, {0.5 / 255, 1}, {0.49 / 255, 0}, {1, 255}, {2, 255}, {float32(254) / 255, 254}}
	for _, c := range cases {
		if got := To8(c.in); got != c.want {
			t.Errorf("To8(%v) = %d, want %d", c.in, got, c.want)
		}
	}
	for v := 0; v < 256; v++ { // every 8-bit level survives v/255 and back
		if got := To8(float32(v) / 255); int(got) != v {
			t.Fatalf("level %d came back as %d", v, got)
		}
	}
}

func TestPSNR(t *testing.T) {
	a, b := New(4, 4), New(4, 4)
	if p, err := PSNR(a, b); err != nil || !math.IsInf(p, 1) {
		t.Fatalf("identical frames: %v, %v; want +Inf", p, err)
	}
	b.Pix[0] = 1 // one sample off by 255 among 48
	want := 10 * math.Log10(255*255/(255.0*255/48))
	if got, err := PSNR(a, b); err != nil || !(math.Abs(got-want) <= 1e-9) {
		t.Fatalf("PSNR %v, %v; want %v", got, err, want)
	}
	if d, err := MaxDiff(a, b); err != nil || d != 255 {
		t.Fatalf("MaxDiff %v, %v; want 255", d, err)
	}
	b.Pix[0] = 0.5 / 255 // rounds to 1
	if d, err := MaxDiff(b, a); err != nil || d != 1 {
		t.Fatalf("MaxDiff %v, %v; want 1", d, err)
	}
	for _, c := range []struct {
		name string
		b    *Frame
		want error
	}{
		{"2x2", New(2, 2), ErrSizeMismatch},
		{"4x4 with a short Pix", &Frame{W: 4, H: 4, Pix: make([]float32, 47)}, ErrSizeMismatch},
		{"NaN", withSample(New(4, 4), 5, float32(math.NaN())), ErrNotFinite},
		{"+Inf", withSample(New(4, 4), 47, float32(math.Inf(1))), ErrNotFinite},
		{"-Inf", withSample(New(4, 4), 0, float32(math.Inf(-1))), ErrNotFinite},
	} {
		for _, order := range [][2]*Frame{{a, c.b}, {c.b, a}} {
			if p, err := PSNR(order[0], order[1]); !errors.Is(err, c.want) {
				t.Errorf("%s: PSNR %v, %v; want %v", c.name, p, err, c.want)
			}
			if d, err := MaxDiff(order[0], order[1]); !errors.Is(err, c.want) {
				t.Errorf("%s: MaxDiff %v, %v; want %v", c.name, d, err, c.want)
			}
		}
	}
}

func withSample(f *Frame, i int, v float32) *Frame {
	f.Pix[i] = v
	return f
}

func TestPoolReuseAndMeta(t *testing.T) {
	p := NewPool(8, 4)
	f := p.Get()
	f.PTS, f.Index, f.Dup = 42, 7, true
	f.Release()
	g := p.Get()
	if len(g.Pix) != 3*8*4 || g.PTS != 0 || g.Index != 0 || g.Dup {
		t.Fatalf("pooled frame not reset: %v dup=%v", g, g.Dup)
	}
	var nilFrame *Frame
	nilFrame.Release()  // nil-safe
	New(2, 2).Release() // pool-less frames are left to the GC
}

func TestPlanesAlias(t *testing.T) {
	f := New(3, 2)
	f.Plane(1)[0] = 0.5
	if f.Pix[6] != 0.5 || cap(f.Plane(0)) != 6 {
		t.Fatal("Plane must alias Pix and be capped to its plane")
	}
}
