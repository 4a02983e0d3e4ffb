package temporal_test

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/temporal"
)

// mark is what Analyze said about one frame.
type mark struct {
	scene int64
	dup   bool
	seg   int64 // keyframe Index of the frame's segment
}

// analyze decodes path and runs a Detector over every frame, as the pipeline's decoder goroutine
// does.
func analyze(t *testing.T, path string, d *temporal.Detector) []mark {
	t.Helper()
	ctx := context.Background()
	dec, err := decode.Open(ctx, decode.Options{Input: path})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var marks []mark
	for {
		f, err := dec.Read(ctx)
		if errors.Is(err, io.EOF) {
			return marks
		}
		if err != nil {
			t.Fatal(err)
		}
		before := append([]float32(nil), f.Pix...)
		if err := d.Analyze(f); err != nil {
			t.Fatal(err)
		}
		if f.Index%50 == 0 && !slices.Equal(before, f.Pix) {
			t.Fatalf("frame %d: Analyze modified the pixels", f.Index)
		}
		marks = append(marks, mark{scene: f.Scene, dup: f.Dup, seg: f.Segment})
		f.Release()
	}
}

// joinedClip makes 60 frames of 01_dog followed by 60 frames of 02_cups, re-encoded at 640x360:
// the cut is at frame 60.
func joinedClip(t testing.TB) string {
	t.Helper()
	dog, cups := mediatest.Clip(t, "01_dog"), mediatest.Clip(t, "02_cups")
	out := filepath.Join(t.TempDir(), "joined.mp4")
	mediatest.FFmpeg(t, "-i", dog, "-i", cups, "-filter_complex",
		"[0:v]trim=end_frame=60,setpts=PTS-STARTPTS[a];[1:v]trim=end_frame=60,setpts=PTS-STARTPTS[b];"+
			"[a][b]concat=n=2:v=1:a=0,scale=640:360[v]",
		"-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", out)
	return out
}

// TestCutOnJoinedClip: the one cut is found on exactly the first frame of the second clip.
func TestCutOnJoinedClip(t *testing.T) {
	d := &temporal.Detector{}
	marks := analyze(t, joinedClip(t), d)
	if len(marks) != 120 {
		t.Fatalf("%d frames, want 120", len(marks))
	}
	for i, m := range marks {
		want := int64(0)
		if i >= 60 {
			want = 1
		}
		if m.scene != want {
			t.Fatalf("frame %d: scene %d, want %d", i, m.scene, want)
		}
		if m.dup {
			t.Fatalf("frame %d marked duplicate", i)
		}
	}
	if cuts, _, _, _, _ := d.Stats(); cuts != 1 {
		t.Fatalf("%d cuts, want 1", cuts)
	}
	if s := marks[60]; s.seg != 60 || s.scene != 1 {
		t.Fatalf("frame 60 is in segment %+v, want one starting there", s)
	}
	counters := map[string]int64{}
	d.Counters(func(k string, v int64) { counters[k] = v })
	if counters["scene_cuts"] != 1 {
		t.Fatalf("counters %v", counters)
	}
}

// TestNoCutInsideShots: none of the shared clips (single shots, full length) has a cut.
func TestNoCutInsideShots(t *testing.T) {
	for _, name := range []string{"01_dog", "02_cups", "03_blocks"} {
		t.Run(name, func(t *testing.T) {
			d := &temporal.Detector{}
			marks := analyze(t, mediatest.Clip(t, name), d)
			if len(marks) < 280 {
				t.Fatalf("only %d frames", len(marks))
			}
			for i, m := range marks {
				if m.scene != 0 || m.dup {
					t.Fatalf("frame %d: scene %d dup %v", i, m.scene, m.dup)
				}
			}
		})
	}
}

// noisy returns a w x h frame of seeded noise.
func noisy(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 1))
	f := frame.New(w, h)
	for i := range f.Pix {
		f.Pix[i] = r.Float32()
	}
	return f
}

// TestDupExact: a duplicate is an exact copy; one changed sample makes it a new frame, not a cut.
func TestDupExact(t *testing.T) {
	d := &temporal.Detector{}
	a := noisy(64, 48, 1)
	b := frame.New(64, 48)
	copy(b.Pix, a.Pix)
	c := frame.New(64, 48)
	copy(c.Pix, a.Pix)
	c.Pix[len(c.Pix)-1] += 1.0 / 255
	seq := []*frame.Frame{a, b, c}
	want := []bool{false, true, false}
	for i, f := range seq {
		f.Index = int64(i)
		if err := d.Analyze(f); err != nil {
			t.Fatal(err)
		}
		if f.Dup != want[i] || f.Scene != 0 {
			t.Fatalf("frame %d: dup %v scene %d", i, f.Dup, f.Scene)
		}
	}
}

// TestSegments: segments start at cuts, at the age limit (never on a duplicate), on a failed
// similarity check, and at a size change (which is also a cut).
func TestSegments(t *testing.T) {
	drift := map[int64]bool{7: true} // frame 7 fails the similarity check
	var cur int64
	d := &temporal.Detector{Refresh: 4, Similar: func(key, th *temporal.Thumb) bool { return !drift[cur] }}
	if err := d.Init(); err != nil {
		t.Fatal(err)
	}
	a, b := noisy(32, 32, 1), noisy(32, 32, 2)
	big := noisy(48, 32, 3)
	// index: picture (a, b, big); 4 is a duplicate at the age limit, so 5 starts the segment.
	pics := []*frame.Frame{a, a, a, a, a, a, a, a, b, b, b, big, big}
	var segs, scenes []int64
	for i, p := range pics {
		f := frame.New(p.W, p.H)
		copy(f.Pix, p.Pix)
		// Every frame differs a little from the one before (no duplicate, no cut), except 4, which
		// repeats 3 exactly.
		k := i
		if i == 4 {
			k = 3
		}
		f.Pix[k] += 0.001
		f.Index, cur = int64(i), int64(i)
		if err := d.Analyze(f); err != nil {
			t.Fatal(err)
		}
		segs = append(segs, f.Segment)
		scenes = append(scenes, f.Scene)
	}
	wantSegs := []int64{0, 0, 0, 0, 0, 5, 5, 7, 8, 8, 8, 11, 11}
	wantScenes := []int64{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2}
	for i := range pics {
		if segs[i] != wantSegs[i] || scenes[i] != wantScenes[i] {
			t.Fatalf("segment starts %v scenes %v,\nwant %v %v", segs, scenes, wantSegs, wantScenes)
		}
	}
	cuts, segments, dups, aged, drifted := d.Stats()
	if cuts != 2 || segments != 5 || dups != 1 || aged != 1 || drifted != 1 {
		t.Fatalf("cuts %d segments %d dups %d aged %d drifted %d", cuts, segments, dups, aged, drifted)
	}
}

func TestDetectorInit(t *testing.T) {
	nan := math.NaN()
	bad := func() []*temporal.Detector {
		return []*temporal.Detector{{LumaCut: 2}, {Ratio: -1}, {Refresh: -1}, {HistCut: nan}, {MinLuma: nan},
			{Ratio: nan}, {Ratio: math.Inf(1)}}
	}
	for i, d := range bad() {
		if err := d.Init(); !errors.Is(err, temporal.ErrConfig) {
			t.Errorf("case %d: %v", i, err)
		}
	}
	// Analyze reports the same error instead of leaving the frame unmarked.
	for i, d := range bad() {
		if err := d.Analyze(frame.New(8, 8)); !errors.Is(err, temporal.ErrConfig) {
			t.Errorf("case %d: Analyze: %v", i, err)
		}
	}
}
