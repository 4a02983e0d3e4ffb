package temporal

import "github.com/ugcsr/ugcsr/frame"

// Segment is a run of consecutive frames of one scene that share per-scene constants (SAM2
// embeddings, tags, prompt embeddings). Its first frame is its keyframe. Segments never overlap, so
// (Scene, Start) identifies one within a stream.
type Segment struct {
	// ID numbers the segments of a stream from 0 in presentation order; -1 when the Segmenter
	// cannot know it.
	ID int64
	// Scene is the scene the segment belongs to (frame.Frame.Scene of its frames).
	Scene int64
	// Start is the Index of the keyframe.
	Start int64
}

// Segmenter tells which segment a frame belongs to. Segment must be deterministic (the same frame
// always gets the same segment, whatever goroutine asks and when) and safe for concurrent use.
type Segmenter interface {
	Segment(f *frame.Frame) Segment
}

// Buckets is the Segmenter for frames no Detector has seen: a segment is a run of Refresh frames
// of the stream (by frame.Frame.Index), split further wherever frame.Frame.Scene changes. Its
// keyframes are Index multiples of Refresh and first frames of scenes, as far as it can tell
// (it sees single frames, so a scene that starts mid-bucket shares the bucket's Start). Refresh 0
// makes every scene one segment, keyed by Start 0. It needs no state.
type Buckets struct {
	Refresh int
}

// Segment implements Segmenter.
func (b Buckets) Segment(f *frame.Frame) Segment {
	if b.Refresh <= 0 {
		return Segment{ID: -1, Scene: f.Scene}
	}
	start := f.Index - f.Index%int64(b.Refresh)
	return Segment{ID: -1, Scene: f.Scene, Start: start}
}
