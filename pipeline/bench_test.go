package pipeline_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/pipeline"
)

// TestBench runs the four measurements on the first second of a small clip, then with an ffmpeg
// that does not exist.
func TestBench(t *testing.T) {
	in := smallClip(t)
	r, err := pipeline.Bench(context.Background(), pipeline.BenchOptions{Input: in, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Frames != 25 || r.Info.Video.Width != 96 || r.Info.Video.Height != 64 {
		t.Errorf("%d frames %dx%d, want 25 frames 96x64", r.Frames, r.Info.Video.Width, r.Info.Video.Height)
	}
	if r.Decode <= 0 || r.DecodeEncode <= 0 || r.Job <= 0 || r.FFmpeg <= 0 || r.JobCPU <= 0 || r.FFmpegCPU <= 0 {
		t.Errorf("times %v %v %v %v, CPU %v %v", r.Decode, r.DecodeEncode, r.Job, r.FFmpeg, r.JobCPU, r.FFmpegCPU)
	}
	if len(r.JobRuns) != 5 || len(r.FFmpegRuns) != 5 || !r.SourceFormat {
		t.Errorf("%d job runs, %d ffmpeg runs, source format %v: want 5, 5, true", len(r.JobRuns), len(r.FFmpegRuns), r.SourceFormat)
	}
	sorted := slices.Clone(r.JobRuns)
	slices.Sort(sorted)
	if len(sorted) == 5 && r.Job != sorted[2] {
		t.Errorf("job median %v of %v", r.Job, r.JobRuns)
	}
	t.Logf("%d frames: decode %v, decode+encode %v, job %v, ffmpeg %v", r.Frames, r.Decode, r.DecodeEncode, r.Job, r.FFmpeg)
	_, err = pipeline.Bench(context.Background(), pipeline.BenchOptions{Input: in, Duration: 200 * time.Millisecond,
		FFmpeg: filepath.Join(t.TempDir(), "no-ffmpeg")})
	if err == nil {
		t.Error("a missing ffmpeg: no error")
	}
}
