package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
	"github.com/ugcsr/ugcsr/sr"
)

// BenchOptions configures Bench.
type BenchOptions struct {
	// Input is the clip.
	Input string
	// Duration limits the clip (optional). It defaults to the whole clip.
	Duration time.Duration
	// FFmpeg is the ffmpeg binary of the reference run (optional). It defaults to "ffmpeg" on $PATH.
	FFmpeg string
	// Runs is how many times the Lanczos job and ffmpeg's run, interleaved (optional). It defaults
	// to 5.
	Runs int
}

// BenchResult holds the wall times of Bench's four runs over the same frames.
type BenchResult struct {
	// Info is the decoder's description of the clip, taken before decoding; the decoder is closed.
	Info   media.Input
	Frames int
	// Decode decodes only (with the conversion to float RGB the backends take).
	Decode time.Duration
	// DecodeEncode is a job at the input size with a backend that copies: the pipeline's own
	// overhead, libx264 CRF 18 preset medium.
	DecodeEncode time.Duration
	// Job is the median time of the whole job: Lanczos x2, libx264 CRF 18 preset medium.
	Job time.Duration
	// FFmpeg is the median time of ffmpeg's own Lanczos x2 with the same encoder settings, audio
	// copied as Run does.
	FFmpeg time.Duration
	// JobRuns and FFmpegRuns are every run's time, in order: job, ffmpeg, job, ffmpeg, ...
	JobRuns, FFmpegRuns []time.Duration
	// JobCPU and FFmpegCPU are the median CPU times (user + system, every thread) of the same
	// runs: on a machine shared with other work they move less than wall times do.
	JobCPU, FFmpegCPU time.Duration
	// SourceFormat reports that the job kept the source's pixel format end to end.
	SourceFormat bool
}

// Bench measures the pipeline on one clip: decode only, decode + encode, then a Lanczos x2 job and
// ffmpeg's own Lanczos x2 for comparison, interleaved Runs times each. Outputs go to a temporary directory, removed at the end.
func Bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
	tmp, err := os.MkdirTemp("", "ugcsr-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	in := decode.Options{Input: o.Input, Duration: o.Duration}
	res := &BenchResult{}

	t0 := time.Now()
	if res.Info, res.Frames, err = decodeAll(ctx, in); err != nil {
		return nil, err
	}
	res.Decode = time.Since(t0)

	run := func(name string, cfg Config) (time.Duration, error) {
		cfg.Input = in
		cfg.Output = encode.Options{Output: filepath.Join(tmp, name+".mp4"), Overwrite: true}
		t0 := time.Now()
		_, err := Run(ctx, cfg)
		return time.Since(t0), err
	}
	if res.DecodeEncode, err = run("copy", Config{Backend: identity{}, Scale: 1, Workers: 1}); err != nil {
		return nil, err
	}
	args := []string{"-v", "error", "-nostdin", "-y", "-i", o.Input}
	if o.Duration > 0 {
		args = append(args, "-t", fmt.Sprint(o.Duration.Seconds()))
	}
	args = append(args, "-vf", "scale=iw*2:ih*2:flags=lanczos", "-c:v", "libx264", "-crf", "18", "-preset", "medium",
		"-c:a", "copy", filepath.Join(tmp, "ffmpeg.mp4"))
	var jobCPU, ffCPU []time.Duration
	// Interleaved, so a machine that slows down or speeds up during the bench moves both alike.
	for i := 0; i < max(o.Runs, 1); i++ {
		cfg := Config{Model: "lanczos", Scale: 2, Input: in,
			Output: encode.Options{Output: filepath.Join(tmp, "lanczos.mp4"), Overwrite: true}}
		t0, c0 := time.Now(), cpuTime()
		r, err := Run(ctx, cfg)
		if err != nil {
			return nil, err
		}
		res.JobRuns = append(res.JobRuns, time.Since(t0))
		jobCPU = append(jobCPU, cpuTime()-c0)
		res.SourceFormat = r.SourceFormat

		cmd := exec.CommandContext(ctx, o.FFmpeg, args...)
		t0 = time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("ffmpeg: %v: %s", err, strings.TrimSpace(string(out)))
		}
		res.FFmpegRuns = append(res.FFmpegRuns, time.Since(t0))
		ffCPU = append(ffCPU, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	}
	res.Job, res.FFmpeg = median(res.JobRuns), median(res.FFmpegRuns)
	res.JobCPU, res.FFmpegCPU = median(jobCPU), median(ffCPU)
	return res, nil
}

// cpuTime is the CPU time this process has used so far, every thread (cgo's included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// median returns the middle of ds (the mean of the two middle ones for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	return (s[(n-1)/2] + s[n/2]) / 2
}

// decodeAll decodes every frame of in and returns the stream's description and the frame count.
func decodeAll(ctx context.Context, in decode.Options) (media.Input, int, error) {
	d, err := decode.Open(ctx, in)
	if err != nil {
		return media.Input{}, 0, err
	}
	defer d.Close()
	info, frames := d.Info(), 0
	for {
		f, err := d.Read(ctx)
		if errors.Is(err, io.EOF) {
			return info, frames, nil
		}
		if err != nil {
			return media.Input{}, 0, err
		}
		f.Release()
		frames++
	}
}

// identity is a backend that copies frames, to time the pipeline without any upscaling.
type identity struct{}

func (identity) Name() string                             { return "identity" }
func (identity) Caps() sr.Caps                            { return sr.Caps{Cheap: true} }
func (identity) Close() error                             { return nil }
func (identity) NewUpscaler(sr.Spec) (sr.Upscaler, error) { return identity{}, nil }
func (identity) BatchSize() int                           { return 1 }
func (identity) Upscale(_ context.Context, dst, src []*frame.Frame) error {
	for i := range src {
		copy(dst[i].Pix, src[i].Pix)
	}
	return nil
}
