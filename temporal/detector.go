package temporal

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/frame"
)

// Default thresholds of Detector. Distances are those of LumaDistance and HistDistance between
// consecutive frames (luma on [0,1]).
//
// Measured on the shared clips (see MEASUREMENTS.md): inside a shot, consecutive frames stay below
// 0.044 luma and 0.057 histogram distance (hands moving fast across the frame in 03_blocks and
// 02_cups are the worst); the cut between 01_dog and 02_cups is 0.20 luma and 0.45 histogram. The
// defaults sit about half-way, in the log sense.
const (
	// DefaultLumaCut: a luma distance at least this large is a cut (if the ratio test passes).
	DefaultLumaCut = 0.10
	// DefaultHistCut: a histogram distance at least this large is a cut when the luma distance is
	// also at least DefaultMinLuma (a new shot of similar layout but other tones).
	DefaultHistCut = 0.30
	// DefaultMinLuma: no cut below this luma distance, whatever the histogram says (a global
	// brightness change such as auto exposure moves the histogram with the picture unchanged).
	DefaultMinLuma = 0.05
	// DefaultRatio: a cut's luma distance must also be this many times the mean of the previous
	// HistoryLen distances of the shot, so that fast motion or a shaking camera, whose distances
	// are high all the time, is not cut over and over.
	DefaultRatio = 3.0
	// DefaultDriftLuma is DefaultSimilar's limit on the luma distance between a segment's keyframe
	// and a later frame.
	DefaultDriftLuma = 0.08
	// DefaultDriftHist is DefaultSimilar's limit on their histogram distance.
	DefaultDriftHist = 0.20
	// HistoryLen is the number of recent distances the ratio test averages.
	HistoryLen = 8
)

// DefaultSimilar is the similarity check used when Detector.Similar is nil: a frame still belongs
// to its keyframe's segment while their luma distance is at most DefaultDriftLuma and their
// histogram distance at most DefaultDriftHist.
func DefaultSimilar(key, cur *Thumb) bool {
	return LumaDistance(key, cur) <= DefaultDriftLuma && HistDistance(key, cur) <= DefaultDriftHist
}

// Detector marks scene cuts and exact duplicates and cuts scenes into segments. It implements
// pipeline.Analyzer (Analyze) and sr.Counter (Counters).
//
// Analyze must see every frame of one stream, in presentation order, from one goroutine (the
// pipeline's decoder goroutine does that); Counters is safe to call from any goroutine at the same
// time. A Detector serves one stream.
//
// Memory: one copy of the previous frame (12 bytes per pixel, for the exact duplicate check), two
// thumbnails.
type Detector struct {
	// LumaCut, HistCut, MinLuma and Ratio tune cut detection (optional). They default to
	// DefaultLumaCut, DefaultHistCut, DefaultMinLuma and DefaultRatio. A frame is a cut when, against
	// the previous frame,
	//   luma >= MinLuma && (luma >= LumaCut || hist >= HistCut) && luma >= Ratio * mean(recent luma)
	// where recent luma are the last HistoryLen distances inside the current shot (the ratio test
	// is skipped until there is one). A change of frame size is always a cut.
	LumaCut, HistCut, MinLuma, Ratio float64
	// Refresh is the maximum age of a segment in frames, --sam-refresh (optional). The first
	// non-duplicate frame at least Refresh frames after a segment's keyframe starts a new segment.
	// It defaults to 0: segments end only at cuts and failed similarity checks.
	Refresh int
	// Similar reports whether cur may still use the constants computed on key, the keyframe of its
	// segment (optional). When it returns false cur starts a new segment. It defaults to
	// DefaultSimilar. It runs on the Analyze goroutine and must not keep its arguments.
	Similar func(key, cur *Thumb) bool

	inited  bool
	scratch thumbScratch
	cur     *Thumb // this frame's thumbnail
	prev    *Thumb // previous frame's, nil before the first frame
	key     *Thumb // current segment's keyframe's
	prevPix []float32
	history [HistoryLen]float64
	nhist   int // distances in history (at most HistoryLen)
	hpos    int

	scene    int64
	segStart int64

	cuts, segments, dups, aged, drifted atomic.Int64
}

// Init fills defaults and validates. Analyze calls it on first use; call it first to see errors.
func (d *Detector) Init() error {
	if d.LumaCut == 0 {
		d.LumaCut = DefaultLumaCut
	}
	if d.HistCut == 0 {
		d.HistCut = DefaultHistCut
	}
	if d.MinLuma == 0 {
		d.MinLuma = DefaultMinLuma
	}
	if d.Ratio == 0 {
		d.Ratio = DefaultRatio
	}
	if d.Similar == nil {
		d.Similar = DefaultSimilar
	}
	for _, v := range []float64{d.LumaCut, d.HistCut, d.MinLuma} {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("%w: cut thresholds must be in [0,1], got %g", ErrConfig, v)
		}
	}
	if !(d.Ratio >= 0) || math.IsInf(d.Ratio, 0) {
		return fmt.Errorf("%w: negative ratio %g", ErrConfig, d.Ratio)
	}
	if d.Refresh < 0 {
		return fmt.Errorf("%w: negative refresh %d", ErrConfig, d.Refresh)
	}
	d.cur, d.key = &Thumb{}, &Thumb{}
	d.inited = true
	return nil
}

// Analyze implements pipeline.Analyzer: it sets f.Scene to the number of cuts up to and including
// f, f.Dup when f's pixels equal the previous frame's exactly, and f.Segment to the Index of the
// keyframe of f's segment. It never modifies f's pixels. An invalid configuration (see Init) is an
// error.
func (d *Detector) Analyze(f *frame.Frame) error {
	if !d.inited {
		if err := d.Init(); err != nil {
			return err
		}
	}
	if len(d.prevPix) != len(f.Pix) {
		d.prevPix = make([]float32, len(f.Pix))
		clear(d.prevPix) // a new size never matches, see below
	}
	var same bool
	d.cur.compute(f, d.prevPix, &same, &d.scratch)
	first := d.prev == nil
	cut, dup := false, false
	switch {
	case first:
	case !SameSize(d.prev, d.cur):
		cut = true
	case same:
		dup = true
	default:
		cut = d.isCut(LumaDistance(d.prev, d.cur), HistDistance(d.prev, d.cur))
	}
	if cut {
		d.scene++
		d.cuts.Add(1)
		d.nhist, d.hpos = 0, 0
	}
	if dup {
		d.dups.Add(1)
	}
	f.Scene, f.Dup = d.scene, dup

	// Segments: a duplicate never starts one (it bypasses the workers, so it could never compute
	// the segment's constants); it belongs to the segment of the frame it repeats.
	newSeg := first || cut
	if !newSeg && !dup {
		switch {
		case d.Refresh > 0 && f.Index-d.segStart >= int64(d.Refresh):
			newSeg = true
			d.aged.Add(1)
		case !d.Similar(d.key, d.cur):
			newSeg = true
			d.drifted.Add(1)
		}
	}
	if newSeg {
		d.segStart = f.Index
		d.key.copyFrom(d.cur)
		d.segments.Add(1)
	}
	f.Segment = d.segStart
	if d.prev == nil {
		d.prev = &Thumb{}
	}
	d.prev, d.cur = d.cur, d.prev
	return nil
}

// isCut applies the cut rule to the distances between the previous frame and this one, and
// records luma in the shot's history.
func (d *Detector) isCut(luma, hist float64) bool {
	cut := luma >= d.MinLuma && (luma >= d.LumaCut || hist >= d.HistCut)
	if cut && d.nhist > 0 {
		var sum float64
		for _, v := range d.history[:d.nhist] {
			sum += v
		}
		cut = luma >= d.Ratio*sum/float64(d.nhist)
	}
	if !cut {
		d.history[d.hpos] = luma
		d.hpos = (d.hpos + 1) % HistoryLen
		d.nhist = min(d.nhist+1, HistoryLen)
	}
	return cut
}

// Counters implements sr.Counter: scene_cuts (cuts found so far) and segments (segments started,
// cuts plus age and similarity refreshes plus the first).
func (d *Detector) Counters(visit func(key string, value int64)) {
	visit("scene_cuts", d.cuts.Load())
	visit("segments", d.segments.Load())
}

// Stats returns the counts behind Counters plus duplicates found and segments started by age
// (Refresh) and by a failed similarity check.
func (d *Detector) Stats() (cuts, segments, dups, aged, drifted int64) {
	return d.cuts.Load(), d.segments.Load(), d.dups.Load(), d.aged.Load(), d.drifted.Load()
}

// copyFrom makes t a deep copy of s, reusing t's buffer.
func (t *Thumb) copyFrom(s *Thumb) {
	luma := append(t.Luma[:0], s.Luma...)
	*t = *s
	t.Luma = luma
}
