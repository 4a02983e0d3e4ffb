package diffusion

import (
	"math"
	"slices"
	"testing"
)

// prepTol bounds |got - want| for the hand-computed values below (float32 arithmetic).
const prepTol = 1e-6

func checkPlane(t *testing.T, what string, got, want []float32, w int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d samples, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= prepTol) {
			t.Errorf("%s: (%d,%d) = %v, want %v", what, i%w, i/w, got[i], want[i])
		}
	}
}

// The SAM2 and tagger resize is torch's bilinear interpolate with align_corners=False and no
// antialias (torchvision 0.15's Resize on a tensor). Output o samples the source at
// s = (o+0.5)*in/out - 0.5, raised to 0 when negative, and blends samples floor(s) and
// floor(s)+1 (the last sample repeated past the end) with weights 1-frac(s), frac(s).
// Every expected value is worked by hand in the comments.
func TestLinearResize(t *testing.T) {
	cases := []struct {
		name                 string
		inW, inH, outW, outH int
		src, want            []float32
	}{
		{
			// Shrink by 2: s = 2o+0.5 along both axes, so each output is the plain mean of a
			// 2x2 block (an antialiased filter would also weigh the neighbouring pixels).
			// src(x,y) = (4y+x)/16.
			//   (0,0): (0+1+4+5)/64 = 0.15625      (1,0): (2+3+6+7)/64 = 0.28125
			//   (0,1): (8+9+12+13)/64 = 0.65625    (1,1): (10+11+14+15)/64 = 0.78125
			name: "4x4 to 2x2", inW: 4, inH: 4, outW: 2, outH: 2,
			src: []float32{
				0 / 16., 1 / 16., 2 / 16., 3 / 16.,
				4 / 16., 5 / 16., 6 / 16., 7 / 16.,
				8 / 16., 9 / 16., 10 / 16., 11 / 16.,
				12 / 16., 13 / 16., 14 / 16., 15 / 16.,
			},
			want: []float32{0.15625, 0.28125, 0.65625, 0.78125},
		},
		{
			// Enlarge 3 to 5: in/out = 0.6, src = (0.1, 0.6, 0.3).
			//   o=0: s = 0.3-0.5 = -0.2 -> 0         -> src[0]             = 0.1
			//   o=1: s = 0.9-0.5 = 0.4               -> 0.6*0.1 + 0.4*0.6  = 0.3
			//   o=2: s = 1.5-0.5 = 1.0               -> src[1]             = 0.6
			//   o=3: s = 2.1-0.5 = 1.6               -> 0.4*0.6 + 0.6*0.3  = 0.42
			//   o=4: s = 2.7-0.5 = 2.2, i1 = i0 = 2  -> 0.8*0.3 + 0.2*0.3  = 0.3
			name: "3x1 to 5x1", inW: 3, inH: 1, outW: 5, outH: 1,
			src:  []float32{0.1, 0.6, 0.3},
			want: []float32{0.1, 0.3, 0.6, 0.42, 0.3},
		},
		{
			// The same along y.
			name: "1x3 to 1x5", inW: 1, inH: 3, outW: 1, outH: 5,
			src:  []float32{0.1, 0.6, 0.3},
			want: []float32{0.1, 0.3, 0.6, 0.42, 0.3},
		},
		{
			// Shrink x by 2.5, enlarge y by 2.
			// x, in/out = 2.5: o=0: s = 1.25-0.5 = 0.75 -> 0.25*p0 + 0.75*p1
			//                  o=1: s = 3.75-0.5 = 3.25 -> 0.75*p3 + 0.25*p4   (p2 is never read)
			//   row 0 (0.0 0.4 1.0 0.8 0.2): 0.25*0.0+0.75*0.4 = 0.3,  0.75*0.8+0.25*0.2 = 0.65
			//   row 1 (1.0 0.6 0.0 0.2 0.4): 0.25*1.0+0.75*0.6 = 0.7,  0.75*0.2+0.25*0.4 = 0.25
			// y, in/out = 0.5: o=0: s = 0.25-0.5 = -0.25 -> 0 -> row 0            = (0.3, 0.65)
			//                  o=1: s = 0.25 -> 0.75*row0 + 0.25*row1 = (0.225+0.175, 0.4875+0.0625) = (0.4, 0.55)
			//                  o=2: s = 0.75 -> 0.25*row0 + 0.75*row1 = (0.075+0.525, 0.1625+0.1875) = (0.6, 0.35)
			//                  o=3: s = 1.25, i1 = i0 = 1 -> row 1  = (0.7, 0.25)
			name: "5x2 to 2x4", inW: 5, inH: 2, outW: 2, outH: 4,
			src: []float32{
				0.0, 0.4, 1.0, 0.8, 0.2,
				1.0, 0.6, 0.0, 0.2, 0.4,
			},
			want: []float32{
				0.3, 0.65,
				0.4, 0.55,
				0.6, 0.35,
				0.7, 0.25,
			},
		},
		{
			// One sample: s is raised to 0 and i1 = i0 = 0 everywhere.
			name: "1x1 to 3x2", inW: 1, inH: 1, outW: 3, outH: 2,
			src:  []float32{0.7},
			want: []float32{0.7, 0.7, 0.7, 0.7, 0.7, 0.7},
		},
	}
	for _, c := range cases {
		r := newLinearResizer(c.inW, c.inH, c.outW, c.outH)
		src := slices.Clone(c.src)
		dst := make([]float32, c.outW*c.outH)
		r.resize(dst, src)
		checkPlane(t, c.name, dst, c.want, c.outW)
		if !slices.Equal(src, c.src) {
			t.Errorf("%s: the input changed", c.name)
		}
	}
}

// normalizedSquare resizes each channel from its own plane, then applies (v - mean) / std with
// ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), R, G, B in that order.
// Each input plane is made of 2x2 blocks of one value, so the 4x4 -> 2x2 resize (a 2x2 mean, see
// TestLinearResize) returns the block values, chosen to normalise to whole numbers:
//
//	R: 0.485 -> 0, 0.714 -> 0.229/0.229 = 1, 0.943 -> 0.458/0.229 = 2, 0.256 -> -0.229/0.229 = -1
//	G: 0.232 -> -0.224/0.224 = -1, 0.456 -> 0, 0.680 -> 0.224/0.224 = 1, 0.904 -> 0.448/0.224 = 2
//	B: 0.406 -> 0, 0.631 -> 0.225/0.225 = 1, 0.181 -> -0.225/0.225 = -1, 0.856 -> 0.45/0.225 = 2
func TestNormalizedSquare(t *testing.T) {
	blocks := func(a, b, c, d float32) []float32 {
		return []float32{
			a, a, b, b,
			a, a, b, b,
			c, c, d, d,
			c, c, d, d,
		}
	}
	src := slices.Concat(
		blocks(0.485, 0.714, 0.943, 0.256),
		blocks(0.232, 0.456, 0.680, 0.904),
		blocks(0.406, 0.631, 0.181, 0.856),
	)
	src0 := slices.Clone(src)
	want := []float32{
		0, 1, 2, -1, // R
		-1, 0, 1, 2, // G
		0, 1, -1, 2, // B
	}
	dst := make([]float32, 3*2*2)
	newLinearResizer(4, 4, 2, 2).normalizedSquare(dst, src)
	for c, name := range []string{"R", "G", "B"} {
		checkPlane(t, name, dst[4*c:4*c+4], want[4*c:4*c+4], 2)
	}
	if !slices.Equal(src, src0) {
		t.Error("the input changed")
	}
}
