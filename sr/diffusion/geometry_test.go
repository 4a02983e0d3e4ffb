package diffusion

import (
	"image"
	"testing"
)

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		in, out        image.Point
		pre, mid, proc image.Point
	}{
		// Scale 1 (wild track): short side below 512 is raised to 512, then snapped to x8.
		{image.Pt(640, 360), image.Pt(640, 360), image.Pt(910, 512), image.Pt(910, 512), image.Pt(904, 512)},
		{image.Pt(1280, 720), image.Pt(1280, 720), image.Pt(1280, 720), image.Pt(1280, 720), image.Pt(1280, 720)},
		{image.Pt(1081, 1921), image.Pt(1081, 1921), image.Pt(1081, 1921), image.Pt(1081, 1921), image.Pt(1080, 1920)},
		// Scale 4 (synthetic track): threshold 512/4 = 128.
		{image.Pt(128, 96), image.Pt(512, 384), image.Pt(170, 128), image.Pt(680, 512), image.Pt(680, 512)},
		{image.Pt(300, 200), image.Pt(1200, 800), image.Pt(300, 200), image.Pt(1200, 800), image.Pt(1200, 800)},
	} {
		g, err := newGeometry(c.in, c.out)
		if err != nil {
			t.Fatal(err)
		}
		if g.pre != c.pre || g.mid != c.mid || g.proc != c.proc {
			t.Errorf("%v -> %v: pre %v mid %v proc %v, want %v %v %v", c.in, c.out, g.pre, g.mid, g.proc, c.pre, c.mid, c.proc)
		}
	}
}
