// Package segment splits a job into segments: runs of consecutive frames that are upscaled and
// encoded apart, each into its own file, and joined into the output without re-encoding. Resume
// after a crash (--resume) keeps the finished ones; scale-out (ugcsr plan, run-segment, join)
// runs them on many machines.
//
// A Plan is made once per input and settings (Build) and written as JSON. It records:
//   - the segments: where each starts (any frame; the decoder starts at the keyframe at or before
//     it, which the plan records too) and how many frames it has;
//   - what the analyzer found on every frame (scene number, segment keyframe, duplicate), so a
//     segment run stamps the same facts as a run from the start without looking at the frames
//     before it, and a segment that starts inside a scene computes that scene's per-scene
//     constants (SAM2 embedding, prompt, noise seed) from the scene's keyframe;
//   - the input's content hash and the settings' hash, so that files made from another input or
//     with other settings are never joined.
package segment

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
)

// Version is the plan format's version; a plan of another version is not used.
const Version = 1

// ErrMismatch is returned when a plan or a segment file belongs to another input or settings.
var ErrMismatch = errors.New("segment: made from another input or with other settings")

// Plan is a job split into segments. See the package doc.
type Plan struct {
	Version int `json:"version"`
	// Input is the input as named when the plan was made; InputSHA256 and InputBytes identify its
	// content (a renamed or touched file is the same input, an edited one is not).
	Input       string `json:"input"`
	InputSHA256 string `json:"input_sha256"`
	InputBytes  int64  `json:"input_bytes"`
	// Settings are the job's settings that shape the output, as JSON; SettingsSHA256 is their hash.
	Settings       json.RawMessage `json:"settings"`
	SettingsSHA256 string          `json:"settings_sha256"`
	// TimeBase is the video stream's time base, in which every PTS here is given.
	TimeBase media.Rational `json:"time_base"`
	// Frames is the number of frames of the job; the segments cover them in order.
	Frames int64 `json:"frames"`
	// End is the end of the last frame (its PTS + duration).
	End      int64     `json:"end_pts"`
	Segments []Segment `json:"segments"`
	// Marks are the analyzer's scene and segment stamps: each holds from its frame until the
	// next mark. Dups lists the frames that repeat the previous one (sorted).
	Marks []Mark  `json:"marks"`
	Dups  []int64 `json:"dups,omitempty"`
	// Keyframes lists the frames of the scenes' keyframes that segments starting inside a scene
	// need, with their PTS (so that frame alone can be decoded).
	SceneKeys []Frame `json:"scene_keyframes,omitempty"`
	// Dir is where segment files go (optional); relative to the plan file's directory. It
	// defaults to the plan's directory.
	Dir string `json:"dir,omitempty"`
}

// Segment is one run of frames.
type Segment struct {
	Index int `json:"index"`
	// First is the number of its first frame in the job, FromPTS that frame's timestamp, and
	// Frames how many frames it has.
	First   int64 `json:"first_frame"`
	FromPTS int64 `json:"from_pts"`
	Frames  int64 `json:"frames"`
	// KeyframePTS is the timestamp of the codec keyframe at or before First, where decoding
	// starts; equal to FromPTS when the segment starts on one.
	KeyframePTS int64 `json:"keyframe_pts"`
	// SceneKey is the frame the per-scene constants of the first frame come from: First itself,
	// or, when the segment starts inside a scene's segment, that segment's keyframe.
	SceneKey int64 `json:"scene_keyframe"`
}

// InsideScene reports whether the segment starts inside an analyzer segment, so its first frames
// take their per-scene constants from an earlier frame (SceneKey).
func (s Segment) InsideScene() bool { return s.SceneKey < s.First }

// Mark is the analyzer's stamp from frame Frame on: its scene number and the keyframe of its
// segment of per-scene constants (frame.Frame Scene and Segment).
type Mark struct {
	Frame   int64 `json:"frame"`
	Scene   int64 `json:"scene"`
	Segment int64 `json:"segment"`
}

// Frame names one frame by number and timestamp.
type Frame struct {
	Index int64 `json:"index"`
	PTS   int64 `json:"pts"`
}

// Name is a segment file's name: the plan's settings hash (so a file of other settings is never
// taken for this plan's), its number and the container's extension.
func (p *Plan) Name(k int) string {
	return fmt.Sprintf("seg-%s-%05d.nut", p.SettingsSHA256[:12], k)
}

// SegmentDir returns the directory of the plan's segment files, for a plan read from planPath:
// Dir, relative to the plan file's directory, or that directory itself.
func (p *Plan) SegmentDir(planPath string) string {
	base := filepath.Dir(planPath)
	switch {
	case p.Dir == "":
		return base
	case filepath.IsAbs(p.Dir):
		return p.Dir
	}
	return filepath.Join(base, p.Dir)
}

// Stamp sets the analyzer's facts on f, a frame of this plan numbered f.Index.
func (p *Plan) Stamp(f *frame.Frame) {
	i := sort.Search(len(p.Marks), func(i int) bool { return p.Marks[i].Frame > f.Index }) - 1
	if i >= 0 {
		f.Scene, f.Segment = p.Marks[i].Scene, p.Marks[i].Segment
	}
	j := sort.Search(len(p.Dups), func(j int) bool { return p.Dups[j] >= f.Index })
	f.Dup = j < len(p.Dups) && p.Dups[j] == f.Index
}

// SceneKeyPTS returns the timestamp of frame index, which must be in SceneKeys.
func (p *Plan) SceneKeyPTS(index int64) (int64, error) {
	for _, k := range p.SceneKeys {
		if k.Index == index {
			return k.PTS, nil
		}
	}
	return 0, fmt.Errorf("segment: plan has no timestamp for scene keyframe %d", index)
}

// Check returns ErrMismatch unless the plan was made from an input with this hash and size and
// with these settings.
func (p *Plan) Check(inputSHA256 string, inputBytes int64, settingsSHA256 string) error {
	switch {
	case p.Version != Version:
		return fmt.Errorf("%w: plan version %d, this ugcsr writes %d", ErrMismatch, p.Version, Version)
	case p.InputSHA256 != inputSHA256 || p.InputBytes != inputBytes:
		return fmt.Errorf("%w: the input's content differs", ErrMismatch)
	case p.SettingsSHA256 != settingsSHA256:
		return fmt.Errorf("%w: the settings differ", ErrMismatch)
	}
	return nil
}

// Validate checks that the segments cover frames 0..Frames-1 in order, as Build makes them.
func (p *Plan) Validate() error {
	next := int64(0)
	for k, s := range p.Segments {
		if s.Index != k || s.First != next || s.Frames <= 0 || s.SceneKey > s.First || s.KeyframePTS > s.FromPTS {
			return fmt.Errorf("segment: plan: segment %d is not the run of frames after the one before it", k)
		}
		next += s.Frames
	}
	if next != p.Frames || len(p.Segments) == 0 {
		return fmt.Errorf("segment: plan: segments cover %d of %d frames", next, p.Frames)
	}
	if len(p.SettingsSHA256) < 12 {
		return errors.New("segment: plan: no settings hash")
	}
	return nil
}

// Save writes the plan to path atomically (a temporary file renamed into place).
func (p *Plan) Save(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("segment: write plan: %w", err)
	}
	return nil
}

// Load reads a plan written by Save and validates it.
func Load(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("segment: plan %s: %w", path, err)
	}
	if p.Version != Version {
		return nil, fmt.Errorf("%w: plan version %d, this ugcsr reads %d", ErrMismatch, p.Version, Version)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// HashFile returns the SHA-256 of a file's content, in hex, and its size.
func HashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("segment: hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// HashSettings returns settings as canonical JSON and its SHA-256 in hex.
func HashSettings(settings any) (json.RawMessage, string, error) {
	b, err := json.Marshal(settings)
	if err != nil {
		return nil, "", fmt.Errorf("segment: settings: %w", err)
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:]), nil
}
