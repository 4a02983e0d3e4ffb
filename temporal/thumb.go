package temporal

import (
	"math"
	"slices"

	"github.com/ugcsr/ugcsr/frame"
)

// Thumbnail geometry.
const (
	// ThumbWidth is the width of every thumbnail; its height keeps the frame's aspect ratio.
	ThumbWidth = 64
	// HistBins is the number of luma histogram bins.
	HistBins = 64
)

// Thumb is the cheap summary of a frame that change detection and similarity checks compare: a
// ThumbWidth-wide box-averaged luma picture and a luma histogram of every pixel. Luma is BT.709
// (0.2126 R + 0.7152 G + 0.0722 B) of the frame's [0,1] samples. A Thumb is about 10 KB for a
// 16:9 frame and is read-only once made.
type Thumb struct {
	// W and H are the thumbnail's size; FrameW and FrameH the frame's.
	W, H           int
	FrameW, FrameH int
	// Luma holds W*H box averages, row-major, in [0,1].
	Luma []float32
	// Hist is the luma histogram, normalised to sum to 1.
	Hist [HistBins]float32
}

// NewThumb computes f's thumbnail. It reads every pixel once and does not modify f.
func NewThumb(f *frame.Frame) *Thumb {
	t := &Thumb{}
	t.compute(f, nil, nil, &thumbScratch{})
	return t
}

// thumbScratch is the per-caller scratch of Thumb.compute.
type thumbScratch struct {
	cx     []int // frame column -> thumbnail column
	counts []int // pixels per cell
}

// thumbSize returns the thumbnail size for a w x h frame.
func thumbSize(w, h int) (int, int) {
	tw := min(ThumbWidth, w)
	th := max(1, int(math.Round(float64(h)*float64(tw)/float64(w))))
	return tw, min(th, h)
}

// compute fills t from f. When prev is non-nil it also reports whether f's pixels equal prev
// exactly, and copies f's pixels into prev (prev must have f's length). The comparison, the copy
// and the thumbnail share one pass over the frame.
func (t *Thumb) compute(f *frame.Frame, prev []float32, same *bool, sc *thumbScratch) {
	t.FrameW, t.FrameH = f.W, f.H
	t.W, t.H = thumbSize(f.W, f.H)
	t.Luma = grow(t.Luma, t.W*t.H)
	clear(t.Luma)
	var hist [HistBins]int
	// Column x goes to cell cx[x]; counts per cell for the average.
	cx := grow(sc.cx, f.W)
	for x := range cx {
		cx[x] = x * t.W / f.W
	}
	counts := grow(sc.counts, t.W*t.H)
	clear(counts)
	sc.cx, sc.counts = cx, counts
	n := f.W * f.H
	r, g, b := f.Pix[:n:n], f.Pix[n:2*n:2*n], f.Pix[2*n:3*n:3*n]
	eq := same != nil
	if eq {
		eq = len(prev) == len(f.Pix)
		*same = eq
	}
	for y := 0; y < f.H; y++ {
		row := (y * t.H / f.H) * t.W
		o := y * f.W
		rr, gg, bb := r[o:o+f.W], g[o:o+f.W], b[o:o+f.W]
		cells := t.Luma[row : row+t.W]
		cnt := counts[row : row+t.W]
		for x := range rr {
			l := 0.2126*rr[x] + 0.7152*gg[x] + 0.0722*bb[x]
			c := cx[x]
			cells[c] += l
			cnt[c]++
			bin := int(l * HistBins)
			bin = max(0, min(HistBins-1, bin))
			hist[bin]++
		}
		if prev != nil && len(prev) == len(f.Pix) {
			pr, pg, pb := prev[o:o+f.W], prev[n+o:n+o+f.W], prev[2*n+o:2*n+o+f.W]
			eq = eq && slices.Equal(pr, rr) && slices.Equal(pg, gg) && slices.Equal(pb, bb)
			copy(pr, rr)
			copy(pg, gg)
			copy(pb, bb)
		}
	}
	for i, c := range counts {
		if c > 0 {
			t.Luma[i] /= float32(c)
		}
	}
	for i, h := range hist {
		t.Hist[i] = float32(h) / float32(n)
	}
	if same != nil {
		*same = eq
	}
}

// grow returns s resized to n, reallocated only when its capacity is short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// HistDistance returns half the L1 distance between the luma histograms of a and b: 0 for equal
// histograms, 1 for disjoint ones.
func HistDistance(a, b *Thumb) float64 {
	var s float64
	for i := range a.Hist {
		s += math.Abs(float64(a.Hist[i] - b.Hist[i]))
	}
	return s / 2
}

// LumaDistance returns the mean absolute difference of the thumbnails' luma, in [0,1]. Thumbnails of
// different sizes are 1 apart.
func LumaDistance(a, b *Thumb) float64 {
	if a.W != b.W || a.H != b.H || len(a.Luma) == 0 {
		return 1
	}
	var s float64
	for i, v := range a.Luma {
		s += math.Abs(float64(v - b.Luma[i]))
	}
	return s / float64(len(a.Luma))
}

// SameSize reports whether a and b were made from frames of the same size.
func SameSize(a, b *Thumb) bool { return a.FrameW == b.FrameW && a.FrameH == b.FrameH }
