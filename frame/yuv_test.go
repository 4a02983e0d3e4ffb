package frame

import (
	"testing"

	"github.com/ugcsr/ugcsr/media"
)

// TestYUVLayout: plane sizes round chroma up (a 33x7 4:2:0 picture has 17x4 chroma), planes sit
// back to back, and deep formats use 16-bit words.
func TestYUVLayout(t *testing.T) {
	f := NewYUV(33, 7, media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 8})
	y := f.YUV
	if f.Pix != nil || len(y.Pix8) != 33*7+2*17*4 || y.Pix16 != nil {
		t.Fatalf("8-bit 33x7: %d bytes, Pix16 %v, Pix %v; want %d bytes only", len(y.Pix8), y.Pix16 != nil, f.Pix != nil, 33*7+2*17*4)
	}
	if w, h := y.PlaneSize(1); w != 17 || h != 4 {
		t.Errorf("chroma %dx%d, want 17x4", w, h)
	}
	y.Plane8(2)[0] = 9
	if y.Pix8[33*7+17*4] != 9 {
		t.Error("Cr does not start after Y and Cb")
	}
	if cap(y.Plane8(0)) != 33*7 {
		t.Error("a plane's capacity reaches into the next")
	}
	d := NewYUV(6, 4, media.Planes{ChromaShiftX: 1, Depth: 10}).YUV
	if len(d.Pix16) != 24+2*3*4 || d.Pix8 != nil || len(d.Plane16(1)) != 12 {
		t.Errorf("10-bit 4:2:2 6x4: %d words, want 48", len(d.Pix16))
	}
}

// TestYUVPool: a YUV pool hands out YUV frames and takes back only those of its kind.
func TestYUVPool(t *testing.T) {
	p := NewYUVPool(8, 4, media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 8})
	f := p.Get()
	if f.YUV == nil || f.W != 8 || f.H != 4 || len(f.YUV.Pix8) != 48 {
		t.Fatalf("Get: %v", f)
	}
	f.Index = 5
	f.Release()
	if g := p.Get(); g.YUV == nil || g.Index != 0 {
		t.Errorf("a recycled frame: YUV %v, index %d", g.YUV != nil, g.Index)
	}
}
