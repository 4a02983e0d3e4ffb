package segment

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
)

// recs makes n frames 10 ticks apart, keyframes at the listed frames, duplicates and segment
// keyframes as listed (a frame's analyzer segment is the last listed start at or before it).
func recs(n int, keys, dups, segStarts []int) []record {
	r := make([]record, n)
	in := func(list []int, i int) bool {
		for _, v := range list {
			if v == i {
				return true
			}
		}
		return false
	}
	seg := int64(0)
	for i := range r {
		if in(segStarts, i) {
			seg = int64(i)
		}
		r[i] = record{pts: int64(10 * i), key: in(keys, i), dup: in(dups, i), seg: seg}
	}
	return r
}

func firsts(p *Plan) []int64 {
	var f []int64
	for _, s := range p.Segments {
		f = append(f, s.First)
	}
	return f
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCut checks the boundary rules on hand-made frame lists; every expected boundary is worked
// out by hand from the rule (targets every step, moved to a keyframe less than step/2 later,
// never on a duplicate, no last piece shorter than step/4).
func TestCut(t *testing.T) {
	cases := []struct {
		name       string
		recs       []record
		step       int64
		count      int
		want       []int64 // segment first frames
		keyframes  []int64 // their KeyframePTS
		sceneKeys  []int64 // their SceneKey
		wantFrames int64
	}{
		{name: "no keyframes but the first: every 10 frames", recs: recs(35, []int{0}, nil, []int{0}), step: 100,
			want: []int64{0, 10, 20, 30}, keyframes: []int64{0, 0, 0, 0}, sceneKeys: []int64{0, 0, 0, 0}},
		// Targets 100, 200, 300: keyframes 13 and 24 are within 50 after the first two; 37 is 70
		// after the third, too far, so it starts at frame 30, decoding from keyframe 24.
		{name: "snap to a keyframe within half a step", recs: recs(40, []int{0, 13, 24, 37}, nil, []int{0}), step: 100,
			want: []int64{0, 13, 24, 30}, keyframes: []int64{0, 130, 240, 240}, sceneKeys: []int64{0, 0, 0, 0}},
		{name: "a keyframe too far is not taken", recs: recs(30, []int{0, 16}, nil, []int{0}), step: 100,
			want: []int64{0, 10, 20}, keyframes: []int64{0, 0, 160}, sceneKeys: []int64{0, 0, 0}},
		{name: "never on a duplicate", recs: recs(30, []int{0}, []int{10, 11, 20}, []int{0}), step: 100,
			want: []int64{0, 12, 21}, keyframes: []int64{0, 0, 0}, sceneKeys: []int64{0, 0, 0}},
		{name: "scene keyframes", recs: recs(30, []int{0}, nil, []int{0, 8, 20}), step: 100,
			want: []int64{0, 10, 20}, keyframes: []int64{0, 0, 0}, sceneKeys: []int64{0, 8, 20}},
		{name: "short tail joins the segment before", recs: recs(22, []int{0}, nil, []int{0}), step: 100,
			want: []int64{0, 10}, keyframes: []int64{0, 0}, sceneKeys: []int64{0, 0}},
		{name: "count", recs: recs(30, []int{0}, nil, []int{0}), step: 100, count: 3,
			want: []int64{0, 10, 20}, keyframes: []int64{0, 0, 0}, sceneKeys: []int64{0, 0, 0}},
		{name: "count above the frames", recs: recs(3, []int{0}, nil, []int{0}), step: 10, count: 5,
			want: []int64{0, 1, 2}, keyframes: []int64{0, 0, 0}, sceneKeys: []int64{0, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := &Plan{Frames: int64(len(c.recs)), SettingsSHA256: "0123456789abcdef"}
			p.cut(c.recs, c.step, c.count)
			if got := firsts(p); !equal(got, c.want) {
				t.Fatalf("segments start at %v, want %v", got, c.want)
			}
			var kf, sk []int64
			for _, s := range p.Segments {
				kf, sk = append(kf, s.KeyframePTS), append(sk, s.SceneKey)
			}
			if !equal(kf, c.keyframes) || !equal(sk, c.sceneKeys) {
				t.Fatalf("keyframe PTS %v scene keys %v, want %v %v", kf, sk, c.keyframes, c.sceneKeys)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSceneKeysListed: a segment starting inside an analyzer segment names its keyframe, whose
// timestamp the plan carries so it can be decoded alone.
func TestSceneKeysListed(t *testing.T) {
	p := &Plan{SettingsSHA256: "0123456789abcdef"}
	p.cut(recs(30, []int{0}, nil, []int{0, 8, 20}), 100, 0)
	if !p.Segments[1].InsideScene() || p.Segments[2].InsideScene() || p.Segments[0].InsideScene() {
		t.Fatalf("inside scene: %v %v %v, want false true false",
			p.Segments[0].InsideScene(), p.Segments[1].InsideScene(), p.Segments[2].InsideScene())
	}
	pts, err := p.SceneKeyPTS(8)
	if err != nil || pts != 80 {
		t.Fatalf("scene keyframe 8: pts %d, %v; want 80", pts, err)
	}
	if _, err := p.SceneKeyPTS(20); err == nil {
		t.Fatal("frame 20 starts its segment: no scene keyframe entry expected")
	}
}

func TestStamp(t *testing.T) {
	p := &Plan{Marks: []Mark{{0, 0, 0}, {5, 0, 5}, {9, 1, 9}}, Dups: []int64{3, 10}}
	want := []struct {
		scene, seg int64
		dup        bool
	}{{0, 0, false}, {0, 0, false}, {0, 0, false}, {0, 0, true}, {0, 0, false}, {0, 5, false},
		{0, 5, false}, {0, 5, false}, {0, 5, false}, {1, 9, false}, {1, 9, true}, {1, 9, false}}
	for i, w := range want {
		f := &frame.Frame{Index: int64(i)}
		p.Stamp(f)
		if f.Scene != w.scene || f.Segment != w.seg || f.Dup != w.dup {
			t.Fatalf("frame %d: scene %d segment %d dup %v, want %d %d %v", i, f.Scene, f.Segment, f.Dup, w.scene, w.seg, w.dup)
		}
	}
}

func TestCheckAndSave(t *testing.T) {
	p := &Plan{Version: Version, InputSHA256: "aa", InputBytes: 10, SettingsSHA256: "0123456789abcdef", Frames: 20}
	p.cut(recs(20, []int{0}, nil, []int{0}), 100, 0)
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := p.Save(path); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Check("aa", 10, "0123456789abcdef"); err != nil {
		t.Fatalf("the same job: %v", err)
	}
	for _, c := range []struct {
		hash     string
		size     int64
		settings string
	}{{"ab", 10, "0123456789abcdef"}, {"aa", 11, "0123456789abcdef"}, {"aa", 10, "0123456789abcdeF"}} {
		if err := q.Check(c.hash, c.size, c.settings); !errors.Is(err, ErrMismatch) {
			t.Fatalf("Check(%v): %v, want ErrMismatch", c, err)
		}
	}
	q.Segments[1].First++
	if err := q.Validate(); err == nil {
		t.Fatal("a gap between segments validates")
	}
}
