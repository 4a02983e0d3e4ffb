package diffusion

import (
	"math"
	"slices"
	"testing"
)

func TestTileGrid(t *testing.T) {
	for _, c := range []struct {
		h, w   int
		size   int
		xs, ys []int
	}{
		{64, 64, 0, []int{0}, []int{0}},                      // 512x512: one window
		{96, 96, 0, []int{0}, []int{0}},                      // area == 96^2: still one window
		{72, 128, 0, []int{0}, []int{0}},                     // 1024x576: 9216 latents, one window
		{90, 160, 90, []int{0, 58, 70}, []int{0}},            // 1280x720: s = min(96, 90), stride 90-32
		{97, 128, 96, []int{0, 32}, []int{0, 1}},             // 1024x776: last row snaps to 97-96
		{135, 240, 96, []int{0, 64, 128, 144}, []int{0, 39}}, // 1920x1080
		{200, 200, 96, []int{0, 64, 104}, []int{0, 64, 104}},
	} {
		tiles := tileGrid(c.h, c.w)
		var xs, ys []int
		for _, tl := range tiles {
			if tl.size != c.size {
				t.Errorf("%dx%d: tile size %d, want %d", c.h, c.w, tl.size, c.size)
			}
			if !slices.Contains(xs, tl.x) {
				xs = append(xs, tl.x)
			}
			if !slices.Contains(ys, tl.y) {
				ys = append(ys, tl.y)
			}
		}
		if !slices.Equal(xs, c.xs) || !slices.Equal(ys, c.ys) || len(tiles) != len(xs)*len(ys) {
			t.Errorf("%dx%d: xs %v ys %v (%d tiles), want xs %v ys %v", c.h, c.w, xs, ys, len(tiles), c.xs, c.ys)
		}
	}
}

func TestGaussianWeights(t *testing.T) {
	const s = 96
	w := gaussianWeights(s)
	// By hand: along x the midpoint is 47.5, along y 48; var 0.01.
	at := func(y, x int) float64 {
		gx := math.Exp(-(float64(x) - 47.5) * (float64(x) - 47.5) / (96 * 96) / 0.02)
		gy := math.Exp(-(float64(y) - 48) * (float64(y) - 48) / (96 * 96) / 0.02)
		return gx * gy
	}
	for _, p := range [][2]int{{0, 0}, {48, 47}, {48, 48}, {95, 95}, {10, 80}} {
		if got, want := float64(w[p[0]*s+p[1]]), at(p[0], p[1]); !(math.Abs(got-want) <= 1e-6*want) {
			t.Errorf("w(%d,%d) = %g, want %g", p[0], p[1], got, want)
		}
	}
	// x is symmetric about 47.5; y is not symmetric about 47.5 (published midpoint H/2).
	if w[48*s+0] != w[48*s+95] {
		t.Error("x weights not symmetric")
	}
	if w[0*s+10] == w[95*s+10] {
		t.Error("y weights symmetric: the midpoint must be H/2")
	}
	if !(math.Abs(float64(w[0])-math.Exp(-47.5*47.5/9216/0.02-48.0*48/9216/0.02)) <= 1e-12) {
		t.Errorf("corner %g", w[0])
	}
}

// TestBlendPlan checks that blending a constant by the plan's weights gives the constant back, and
// that every latent pixel is covered.
func TestBlendPlan(t *testing.T) {
	p := newBlendPlan(97, 128)
	for i, v := range p.invSum {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			t.Fatalf("pixel %d: 1/sum = %g", i, v)
		}
	}
	acc := make([]float64, 97*128)
	s := p.tiles[0].size
	for _, tl := range p.tiles {
		for y := range s {
			for x := range s {
				acc[(tl.y+y)*128+tl.x+x] += float64(p.weight[y*s+x]) * 3
			}
		}
	}
	for i := range acc {
		if d := acc[i]*float64(p.invSum[i]) - 3; !(math.Abs(d) <= 1e-5) {
			t.Fatalf("pixel %d: blended constant off by %g", i, d)
		}
	}
}

func TestWindows(t *testing.T) {
	for _, n := range []int{100, 246, 247, 300, 500, 1000} {
		ws := windows(n, decTile, decPad)
		next := 0
		for _, w := range ws {
			if w.clo != next || w.chi <= w.clo || w.lo < 0 || w.lo+w.size > n || w.clo < w.lo || w.chi > w.lo+w.size {
				t.Fatalf("n=%d: bad window %+v in %+v", n, w, ws)
			}
			if w.size != ws[0].size {
				t.Fatalf("n=%d: sizes differ: %+v", n, ws)
			}
			if w.clo > 0 && w.clo-w.lo < decPad || w.chi < n && w.lo+w.size-w.chi < decPad {
				t.Fatalf("n=%d: window %+v has less than %d of context", n, w, decPad)
			}
			next = w.chi
		}
		if next != n || (n <= 246) != (len(ws) == 1) {
			t.Fatalf("n=%d: windows %+v", n, ws)
		}
	}
}
