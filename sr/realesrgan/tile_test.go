package realesrgan

import (
	"fmt"
	"image"
	"testing"
)

// shaderReflect is realesrgan_preproc.comp's index mapping, valid for |i| < n.
func shaderReflect(i, n int) int {
	if i < 0 {
		i = -i
	}
	d := i - (n - 1)
	if d < 0 {
		d = -d
	}
	return (n - 1) - d
}

func TestReflect(t *testing.T) {
	for n := 2; n < 40; n++ {
		for i := -n + 1; i < 2*n-1; i++ {
			if got, want := reflect(i, n), shaderReflect(i, n); got != want {
				t.Fatalf("reflect(%d, %d) = %d, shader gives %d", i, n, got, want)
			}
		}
	}
	// Far outside, it keeps bouncing inside the image.
	for _, n := range []int{1, 2, 3, 5} {
		for i := -30; i < 30; i++ {
			if r := reflect(i, n); r < 0 || r >= n {
				t.Fatalf("reflect(%d, %d) = %d", i, n, r)
			}
		}
	}
	if got := fmt.Sprint(reflect(-1, 5), reflect(5, 5), reflect(-2, 3), reflect(0, 1)); got != "1 3 2 0" {
		t.Fatalf("got %s", got)
	}
}

func TestGrid(t *testing.T) {
	// The 480x270 golden at -t 200 is "3x2 tiles".
	tiles := grid(480, 270, 200, Prepadding)
	var got []string
	for _, tl := range tiles {
		got = append(got, fmt.Sprintf("%d,%d:%dx%d", tl.x0, tl.y0, tl.w, tl.h))
	}
	if s := fmt.Sprint(got); s != "[0,0:200x200 200,0:200x200 400,0:80x200 0,200:200x70 200,200:200x70 400,200:80x70]" {
		t.Fatalf("grid %s", s)
	}
	mid := tiles[1]
	if !mid.contiguous || mid.xs[0] != 190 || mid.xs[len(mid.xs)-1] != 409 || mid.ys[0] != 10 || mid.ys[9] != 1 || mid.ys[10] != 0 {
		t.Fatalf("middle tile: contiguous %v xs %d..%d ys %v", mid.contiguous, mid.xs[0], mid.xs[len(mid.xs)-1], mid.ys[:11])
	}
	last := tiles[5]
	if last.contiguous || len(last.xs) != 100 || last.xs[89] != 479 || last.xs[90] != 478 || last.ys[len(last.ys)-1] != 259 {
		t.Fatalf("corner tile: xs %v ys %v", last.xs[85:], last.ys[len(last.ys)-3:])
	}
	// Every pixel is covered exactly once, for odd sizes and tiles larger than the image.
	for _, c := range [][3]int{{97, 61, 32}, {97, 61, 200}, {5, 3, 2}, {1, 1, 64}} {
		w, h := c[0], c[1]
		seen := make([]int, w*h)
		for _, tl := range grid(w, h, c[2], Prepadding) {
			for y := tl.y0; y < tl.y0+tl.h; y++ {
				for x := tl.x0; x < tl.x0+tl.w; x++ {
					seen[y*w+x]++
				}
			}
		}
		for i, n := range seen {
			if n != 1 {
				t.Fatalf("%v: pixel %d covered %d times", c, i, n)
			}
		}
	}
}

func TestAutoTile(t *testing.T) {
	fast := &Backend{pxCost: 1 << 10}
	plus := &Backend{pxCost: 12 << 10}
	for _, c := range []struct {
		b    *Backend
		in   image.Point
		want int
	}{
		{fast, image.Pt(160, 90), 160},    // one tile
		{fast, image.Pt(1920, 1080), 960}, // 2x2 even tiles instead of 992+928
		{plus, image.Pt(64, 64), 64},
		{plus, image.Pt(640, 360), 214}, // 3x2 tiles of at most 272
	} {
		if got := c.b.AutoTile(c.in); got != c.want {
			t.Errorf("cost %d, %v: tile %d, want %d", c.b.pxCost, c.in, got, c.want)
		}
	}
}

func TestQuantize(t *testing.T) {
	for _, c := range []struct{ in, want float32 }{
		{0, 0}, {-1, 0}, {2, 1}, {1, 1}, {0.5, 128.0 / 255}, {127.49 / 255, 127.0 / 255}, {127.5 / 255, 128.0 / 255},
	} {
		if got := quantize(c.in); got != c.want {
			t.Errorf("quantize(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	var nan float32
	nan = nan / nan
	if quantize(nan) != 0 {
		t.Error("NaN not mapped to 0")
	}
}
