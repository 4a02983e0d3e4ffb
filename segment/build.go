package segment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
)

// Analyzer stamps scene facts on frames in order (pipeline.Analyzer).
type Analyzer interface {
	Analyze(f *frame.Frame) error
}

// BuildOptions says what to plan.
type BuildOptions struct {
	// Input selects the frames of the job, as the job reads them (Range must be nil).
	Input decode.Options
	// Analyzer is the job's analyzer (optional): nil when the job runs none.
	Analyzer Analyzer
	// Length is the target length of a segment (optional). It defaults to DefaultLength.
	Length time.Duration
	// Count, when above 0, asks for this many segments of about equal length instead (fewer when
	// the input has fewer frames).
	Count int
	// Settings and InputSHA256/InputBytes identify the job (see Plan).
	Settings    any
	InputSHA256 string
	InputBytes  int64
}

// DefaultLength is the default target length of a segment: short enough that a crash costs little
// (at the 0.15 fps of a CPU job, 2 s of 30 fps video is about 7 minutes of work), long enough that
// the per-segment costs (seek, one keyframe decoded for the scene's constants) stay small.
const DefaultLength = 2 * time.Second

// record is what Build keeps of each frame: a few bytes, so planning an hour of video stays small.
type record struct {
	pts      int64
	key, dup bool
	seg      int64
}

// Build decodes the job's frames once, runs the analyzer on them, and cuts them into segments.
// Boundaries are placed at the target lengths, moved forward to a codec keyframe when one comes
// within half a segment (no frames to decode and drop), and never on a duplicate frame (which
// repeats an output the segment would not have).
func Build(ctx context.Context, o BuildOptions) (*Plan, error) {
	if o.Input.Range != nil {
		return nil, errors.New("segment: plan a whole job, not a range")
	}
	settings, settingsHash, err := HashSettings(o.Settings)
	if err != nil {
		return nil, err
	}
	in := o.Input
	in.OnPacket, in.SourceFormat = nil, o.Analyzer == nil
	dec, err := decode.Open(ctx, in)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	info := dec.Info().Video
	p := &Plan{Version: Version, Input: o.Input.Input, InputSHA256: o.InputSHA256, InputBytes: o.InputBytes,
		Settings: settings, SettingsSHA256: settingsHash, TimeBase: info.TimeBase}
	var recs []record
	var end int64 // the last frame's end
	for {
		f, err := dec.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if o.Analyzer != nil {
			if err := o.Analyzer.Analyze(f); err != nil {
				f.Release()
				return nil, err
			}
		}
		if n := len(p.Marks); n == 0 || p.Marks[n-1].Scene != f.Scene || p.Marks[n-1].Segment != f.Segment {
			p.Marks = append(p.Marks, Mark{Frame: f.Index, Scene: f.Scene, Segment: f.Segment})
		}
		if f.Dup {
			p.Dups = append(p.Dups, f.Index)
		}
		recs = append(recs, record{pts: f.PTS, key: f.Keyframe, dup: f.Dup, seg: f.Segment})
		end = f.PTS + max(f.Duration, 1)
		f.Release()
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("segment: %q: no video frames decoded", o.Input.Input)
	}
	p.Frames, p.End = int64(len(recs)), end
	length := o.Length
	if length <= 0 {
		length = DefaultLength
	}
	step := media.Rescale(int64(length/time.Microsecond), media.Rational{Num: 1, Den: 1_000_000}, info.TimeBase)
	if o.Count > 0 {
		step = (end - recs[0].pts) / int64(o.Count)
	}
	p.cut(recs, max(step, 1), o.Count)
	return p, nil
}

// cut places the segment boundaries (see Build): the k-th at the first frame at or after
// first + k*step, or a keyframe less than step/2 after it, skipping duplicates. Without a count,
// a last piece shorter than step/4 joins the segment before it.
func (p *Plan) cut(recs []record, step int64, count int) {
	first, last := recs[0].pts, recs[len(recs)-1].pts
	starts := []int{0}
	i := 0
	for k := int64(1); ; k++ {
		if count > 0 && k >= int64(count) {
			break
		}
		target := first + k*step
		if count == 0 && target+step/4 > last {
			break
		}
		for i < len(recs) && (recs[i].pts < target || i <= starts[len(starts)-1]) {
			i++
		}
		b := i
		for j := i; j < len(recs) && recs[j].pts < target+step/2; j++ {
			if recs[j].key && !recs[j].dup {
				b = j
				break
			}
		}
		for b < len(recs) && recs[b].dup {
			b++
		}
		if b >= len(recs) {
			break
		}
		starts = append(starts, b)
		i = b
	}
	keyframe := 0 // the last keyframe at or before the frame being looked at
	sceneKeys := map[int64]bool{}
	for k, s := range starts {
		e := len(recs)
		if k+1 < len(starts) {
			e = starts[k+1]
		}
		for j := keyframe; j <= s; j++ {
			if recs[j].key {
				keyframe = j
			}
		}
		seg := Segment{Index: k, First: int64(s), FromPTS: recs[s].pts, Frames: int64(e - s),
			KeyframePTS: recs[keyframe].pts, SceneKey: recs[s].seg}
		if seg.InsideScene() && !sceneKeys[seg.SceneKey] {
			sceneKeys[seg.SceneKey] = true
			p.SceneKeys = append(p.SceneKeys, Frame{Index: seg.SceneKey, PTS: recs[seg.SceneKey].pts})
		}
		p.Segments = append(p.Segments, seg)
	}
}
