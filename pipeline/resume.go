package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
	"github.com/ugcsr/ugcsr/segment"
)

// Resume configures a resumable job (Config.Resume, --resume): the job is planned in segments
// (package segment), each upscaled and encoded into its own file in Dir as it goes, and the files
// are joined into the output without re-encoding once all are there. A rerun of the same job (same
// input content, same settings) keeps the finished files and does the rest; Dir is removed once
// the output is complete.
//
// Each segment is its own run: a backend that carries state from frame to frame (tile reuse)
// starts over at every segment, whose first frame is computed in full. Per-scene constants do
// not: a segment that starts inside a scene takes them from the scene's keyframe, decoded once.
type Resume struct {
	// Dir holds the plan and the segment files (optional). It defaults to ResumeDir(output).
	Dir string
	// Length is the target segment length (optional). It defaults to segment.DefaultLength.
	Length time.Duration
}

// ResumeDir is the default directory of a resumable job's segments: hidden, beside the output.
func ResumeDir(output string) string {
	return filepath.Join(filepath.Dir(output), "."+filepath.Base(output)+".ugcsr-resume")
}

// planFile is the plan's name in a resumable job's directory.
const planFile = "plan.json"

// ResumeState describes a resumable job's segments (Result.Resume).
type ResumeState struct {
	Dir      string
	Segments int   // in the plan
	Reused   int   // finished by an earlier run and kept
	Done     int   // finished now, reused ones included
	Frames   int64 // frames in the finished segments
	// Discarded says why segment files found in Dir were not used ("" when none were found or
	// all were usable).
	Discarded string
}

// FindResumable reports a resumable job left in output's default directory by an earlier run
// (killed, or stopped): the number of finished segments and of all segments. ok is false when
// there is none.
func FindResumable(output string) (done, total int, ok bool) {
	dir := ResumeDir(output)
	p, err := segment.Load(filepath.Join(dir, planFile))
	if err != nil {
		return 0, 0, false
	}
	for k := range p.Segments {
		if _, err := os.Stat(filepath.Join(dir, p.Name(k))); err == nil {
			done++
		}
	}
	return done, len(p.Segments), true
}

// settings returns what shapes cfg's output, for the plan's settings hash: the whole Config but
// for the fields tagged json:"-" (callbacks, paths, worker counts), so an option added to Config
// is part of the hash without anyone remembering to add it.
func settings(cfg Config) any { return cfg }

// NewPlan plans cfg's job in segments of about length (or count segments when count > 0) (ugcsr
// plan; a resumable job makes its own). The input must be a file: its content is hashed.
func NewPlan(ctx context.Context, cfg Config, length time.Duration, count int) (*segment.Plan, error) {
	j, err := openJobFor(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	return j.plan(ctx, cfg, length, count)
}

// openJobFor opens cfg's job for its input's size, which it reads from the input's header (the
// runs that follow open their own decoders, each for its own range).
func openJobFor(ctx context.Context, cfg Config) (*job, error) {
	dec, err := decode.Open(ctx, cfg.Input)
	if err != nil {
		return nil, err
	}
	info := dec.Info().Video
	dec.Close()
	return openJob(cfg, image.Pt(info.Width, info.Height))
}

// plan builds the job's plan with the analyzer the job would run.
func (j *job) plan(ctx context.Context, cfg Config, length time.Duration, count int) (*segment.Plan, error) {
	if !isFile(cfg.Input.Input) {
		return nil, fmt.Errorf("segments need an input file, not %q (a pipe or URL cannot be read twice)", cfg.Input.Input)
	}
	hash, size, err := segment.HashFile(cfg.Input.Input)
	if err != nil {
		return nil, err
	}
	var analyzer segment.Analyzer
	if j.cfg.Analyzer != nil {
		// A fresh analyzer of the same kind: the job's own may be the caller's, with state.
		if cfg.Analyzer != nil {
			analyzer = cfg.Analyzer
		} else if analyzer, err = j.newAnalyzer(); err != nil {
			return nil, err
		}
	}
	return segment.Build(ctx, segment.BuildOptions{Input: cfg.Input, Analyzer: analyzer, Length: length, Count: count,
		Settings: settings(cfg), InputSHA256: hash, InputBytes: size})
}

func isFile(name string) bool {
	st, err := os.Stat(name)
	return name != "-" && err == nil && st.Mode().IsRegular()
}

// runResumable runs cfg as a resumable job (Config.Resume).
func runResumable(ctx context.Context, cfg Config) (res Result, err error) {
	if err := encode.CheckOutput(cfg.Output); err != nil {
		return res, err
	}
	if !isFile(cfg.Input.Input) {
		return res, fmt.Errorf("a resumable job needs an input file, not %q (a pipe or URL cannot be read again)", cfg.Input.Input)
	}
	if !isFile(cfg.Output.Output) && (cfg.Output.Output == "-" || strings.Contains(cfg.Output.Output, ":") || strings.Contains(cfg.Output.Output, "%")) {
		return res, fmt.Errorf("a resumable job needs one output file, not %q", cfg.Output.Output)
	}
	encode.ManyEncoders() // one per segment: keep memory flat however many there are
	dir := cfg.Resume.Dir
	if dir == "" {
		dir = ResumeDir(cfg.Output.Output)
	}
	state := &ResumeState{Dir: dir}
	res.Resume = state

	j, err := openJobFor(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer j.Close()
	res.InSize, res.OutSize, res.Model = j.spec.In, j.spec.Out, j.backend.Name()

	plan, err := j.loadOrPlan(ctx, cfg, dir, state)
	if err != nil {
		return res, err
	}
	state.Segments = len(plan.Segments)
	start := time.Now()
	reusedFrames := int64(0)
	for k, seg := range plan.Segments {
		if _, err := os.Stat(filepath.Join(dir, plan.Name(k))); err == nil {
			state.Reused++
			state.Done++
			state.Frames += seg.Frames
			reusedFrames += seg.Frames
			continue
		}
		stopped, err := j.runSegment(ctx, plan, k, dir, func(s Stats) {
			if cfg.Progress != nil {
				s.Frames += state.Frames
				s.Total = plan.Frames
				s.Elapsed = time.Since(start)
				s.Done = false
				cfg.Progress(s)
			}
		})
		if err != nil {
			return res, fmt.Errorf("segment %d of %d: %w", k+1, len(plan.Segments), err)
		}
		if stopped {
			res.Interrupted, res.Frames = true, state.Frames
			return res, nil
		}
		state.Done++
		state.Frames += seg.Frames
		// The segment's pools and buffers are garbage now: return them before the next
		// segment allocates its own, so memory does not grow with the number of segments.
		debug.FreeOSMemory()
	}
	jr, err := join(ctx, cfg, plan, dir)
	if err != nil {
		return res, err
	}
	res.Input, res.Frames, res.Stats = jr.Input, jr.Frames, Stats{Frames: jr.Frames, Total: plan.Frames, Elapsed: time.Since(start), Done: true}
	if sec := res.Stats.Elapsed.Seconds(); sec > 0 {
		res.Stats.FPS = float64(state.Frames-reusedFrames) / sec // frames upscaled by this run
	}
	if cfg.Progress != nil {
		cfg.Progress(res.Stats)
	}
	if err := os.RemoveAll(dir); err != nil {
		cfg.Logf("resume: could not remove %s: %v", dir, err)
	}
	return res, nil
}

// loadOrPlan returns the plan in dir when it is this job's, or makes a new one, removing the files
// of another job (other input content or settings) and the partial files of killed runs.
func (j *job) loadOrPlan(ctx context.Context, cfg Config, dir string, state *ResumeState) (*segment.Plan, error) {
	path := filepath.Join(dir, planFile)
	p, err := segment.Load(path)
	if err == nil {
		// A mismatch discards the segments below; failing to read the input ends the job.
		if err = checkPlan(cfg, p); err != nil && !errors.Is(err, segment.ErrMismatch) {
			return nil, err
		}
	}
	switch {
	case err == nil:
		removeParts(dir)
		return p, nil
	case errors.Is(err, os.ErrNotExist):
	default:
		state.Discarded = err.Error()
		cfg.Logf("resume: not reusing the segments in %s: %v", dir, err)
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	length := time.Duration(0)
	if cfg.Resume != nil {
		length = cfg.Resume.Length
	}
	if p, err = j.plan(ctx, cfg, length, 0); err != nil {
		return nil, err
	}
	return p, p.Save(path)
}

// removeParts deletes the temporary files of segments a killed run was writing.
func removeParts(dir string) {
	parts, _ := filepath.Glob(filepath.Join(dir, ".*.part"))
	for _, p := range parts {
		os.Remove(p)
	}
}

// RunSegment upscales segment k of plan into its file in dir (ugcsr run-segment). cfg must be the
// plan's job: a segment of another input or other settings is refused (segment.ErrMismatch).
func RunSegment(ctx context.Context, cfg Config, plan *segment.Plan, k int, dir string) (Stats, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if k < 0 || k >= len(plan.Segments) {
		return Stats{}, fmt.Errorf("segment %d: the plan has segments 0 to %d", k, len(plan.Segments)-1)
	}
	if err := checkPlan(cfg, plan); err != nil {
		return Stats{}, err
	}
	j, err := openJobFor(ctx, cfg)
	if err != nil {
		return Stats{}, err
	}
	defer j.Close()
	var st Stats
	stopped, err := j.runSegment(ctx, plan, k, dir, func(s Stats) {
		st = s
		if cfg.Progress != nil {
			cfg.Progress(s)
		}
	})
	if err == nil && stopped {
		err = errors.New("stopped before the segment was complete")
	}
	return st, err
}

// checkPlan refuses a plan made for another input content or other settings than cfg's.
func checkPlan(cfg Config, plan *segment.Plan) error {
	hash, size, err := segment.HashFile(cfg.Input.Input)
	if err != nil {
		return err
	}
	_, sh, err := segment.HashSettings(settings(cfg))
	if err != nil {
		return err
	}
	return plan.Check(hash, size, sh)
}

// runSegment upscales one segment into its file in dir; the file appears (renamed into place)
// only when complete. stopped reports that Input.Stop ended it early: nothing is kept then.
func (j *job) runSegment(ctx context.Context, plan *segment.Plan, k int, dir string, progress func(Stats)) (stopped bool, err error) {
	seg := plan.Segments[k]
	cfg := j.cfg
	in := cfg.Input
	in.OnPacket = nil
	in.Range = &decode.Range{FromPTS: seg.FromPTS, First: seg.First, Frames: seg.Frames}
	dec, err := decode.Open(ctx, in)
	if err != nil {
		return false, err
	}
	defer dec.Close()
	info := dec.Info()
	if got := image.Pt(info.Video.Width, info.Video.Height); got != j.spec.In {
		return false, fmt.Errorf("input is %v, the job %v", got, j.spec.In)
	}
	var key *frame.Frame
	if seg.InsideScene() && j.caps.SceneConstants {
		if key, err = decodeSceneKey(ctx, cfg.Input, plan, seg.SceneKey); err != nil {
			return false, err
		}
	}
	ups, batch, err := j.newUpscalers()
	if err != nil {
		return false, err
	}
	defer closeAll(ups)
	outPool, srcFormat := j.outPool(dec, info.Video)
	segOpts, err := encode.SegmentOptions(cfg.Output, filepath.Join(dir, plan.Name(k)))
	if err != nil {
		return false, err
	}
	segOpts.SourceFormat = srcFormat
	info.Passthrough, info.Metadata = nil, nil
	enc, err := encode.Open(segOpts, info, j.spec.Out.X, j.spec.Out.Y)
	if err != nil {
		return false, err
	}
	committed := false
	defer func() {
		if !committed {
			enc.Close(false)
		}
	}()
	r := j.newRunner(dec, enc, ups, batch, outPool, info.Video)
	r.cfg.Progress = progress
	r.first = seg.First
	r.stamp = func(f *frame.Frame) {
		plan.Stamp(f)
		if key != nil && f.Segment == key.Index {
			f.SegmentKey = key
		}
	}
	stats, err := r.run(ctx)
	if err != nil {
		return false, err
	}
	if dec.Stopped() {
		return true, nil
	}
	if stats.Frames != seg.Frames {
		return false, fmt.Errorf("decoded %d of its %d frames", stats.Frames, seg.Frames)
	}
	committed = true
	return false, enc.Finish(ctx)
}

// decodeSceneKey decodes frame index of the job alone (a scene's keyframe), outside any pool.
func decodeSceneKey(ctx context.Context, in decode.Options, plan *segment.Plan, index int64) (*frame.Frame, error) {
	pts, err := plan.SceneKeyPTS(index)
	if err != nil {
		return nil, err
	}
	in.OnPacket, in.SourceFormat = nil, false
	in.Range = &decode.Range{FromPTS: pts, First: index, Frames: 1}
	dec, err := decode.Open(ctx, in)
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	f, err := dec.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("scene keyframe %d: %w", index, err)
	}
	defer f.Release()
	key := frame.New(f.W, f.H)
	copy(key.Pix, f.Pix)
	key.CopyMeta(f)
	plan.Stamp(key)
	return key, nil
}

// segmentTimes reads the timestamps of a segment file's video packets, in order, in the input
// video's time base (to), which the output stream has too (NUT may keep a finer one). NUT keeps
// presentation timestamps, but shifted when the encoder's first decoding timestamps are negative
// (reordered frames), so they are moved back by shift to start at the segment's first frame's PTS
// (first). delay is the reorder delay: how far the sorted timestamps run ahead of decoding order.
func segmentTimes(ctx context.Context, name string, to media.Rational, first int64) (sorted []int64, shift, delay int64, err error) {
	p, err := decode.OpenPackets(ctx, name)
	if err != nil {
		return nil, 0, 0, err
	}
	defer p.Close()
	var pts []int64
	for {
		pkt, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, 0, err
		}
		pts = append(pts, media.Rescale(pkt.Pts(), p.Stream().TimeBase, to))
	}
	if len(pts) == 0 {
		return nil, 0, 0, fmt.Errorf("join: %s has no video packets", name)
	}
	sorted = slices.Clone(pts)
	slices.Sort(sorted)
	for i := range pts {
		delay = max(delay, sorted[i]-pts[i])
	}
	return sorted, first - sorted[0], delay, nil
}

// joinTimes returns every segment's shift and its packets' decoding timestamps. NUT does not keep
// the encoder's decoding timestamps (its demuxer leaves the first unset), so they are made again
// as an encoder makes them: the presentation timestamps in sorted order moved back by the reorder
// delay, one delay for the whole stream (the largest), so the steps stay even across segments.
func joinTimes(ctx context.Context, plan *segment.Plan, dir string, to media.Rational) (shifts []int64, dts [][]int64, err error) {
	var sorted [][]int64
	delay := int64(0)
	for k, seg := range plan.Segments {
		s, shift, d, err := segmentTimes(ctx, filepath.Join(dir, plan.Name(k)), to, seg.FromPTS)
		if err != nil {
			return nil, nil, err
		}
		sorted, shifts, delay = append(sorted, s), append(shifts, shift), max(delay, d)
	}
	after := int64(math.MinInt64)
	for k, s := range sorted {
		d := make([]int64, len(s))
		for i, t := range s {
			d[i] = max(t+shifts[k]-delay, after+1)
			after = d[i]
		}
		dts = append(dts, d)
	}
	return shifts, dts, nil
}

// Join writes cfg.Output from the segment files of plan in dir (ugcsr join), copying their video
// packets as they are and the input's audio, subtitle and data packets and tags once, as a run
// from the start would. A plan of another input or other settings is refused.
func Join(ctx context.Context, cfg Config, plan *segment.Plan, dir string) (Result, error) {
	if err := checkPlan(cfg, plan); err != nil {
		return Result{}, err
	}
	return join(ctx, cfg, plan, dir)
}

func join(ctx context.Context, cfg Config, plan *segment.Plan, dir string) (res Result, err error) {
	for k := range plan.Segments {
		if _, err := os.Stat(filepath.Join(dir, plan.Name(k))); err != nil {
			return res, fmt.Errorf("join: segment %d of %d is missing: %w", k+1, len(plan.Segments), err)
		}
	}
	in := cfg.Input
	in.OnPacket, in.Range = nil, nil
	dec, err := decode.Open(ctx, in)
	if err != nil {
		return res, err
	}
	defer dec.Close()
	res.Input = dec.Info()
	first, err := decode.OpenPackets(ctx, filepath.Join(dir, plan.Name(0)))
	if err != nil {
		return res, err
	}
	defer first.Close()
	enc, err := encode.OpenCopy(cfg.Output, res.Input, first.Stream())
	if err != nil {
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			enc.Close(false)
		}
	}()
	end := int64(0)
	if cfg.Input.MaxFrames > 0 {
		end = plan.End // -frames:v: the copied streams end with the last frame
	}
	// Merge by time: video packets from the segments in order, the input's other packets between
	// them, so the muxer never holds more than a moment of either.
	tbs := map[int]struct{ num, den int }{}
	for _, s := range res.Input.Passthrough {
		tbs[s.Index] = struct{ num, den int }{s.TimeBase.Num, s.TimeBase.Den}
	}
	other, err := dec.ReadPassthrough(end)
	if errors.Is(err, io.EOF) {
		other, err = nil, nil
	}
	if err != nil {
		return res, err
	}
	vtb := res.Input.Video.TimeBase
	shifts, times, err := joinTimes(ctx, plan, dir, vtb)
	if err != nil {
		return res, err
	}
	for k := range plan.Segments {
		name := filepath.Join(dir, plan.Name(k))
		shift, dts := shifts[k], times[k]
		src := first
		if k > 0 {
			if src, err = decode.OpenPackets(ctx, name); err != nil {
				return res, err
			}
		}
		for i := 0; ; i++ {
			pkt, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return res, err
			}
			if i >= len(dts) {
				return res, fmt.Errorf("join: %s changed while being read", name)
			}
			pkt.SetPts(media.Rescale(pkt.Pts(), src.Stream().TimeBase, vtb) + shift)
			pkt.SetDts(dts[i])
			pkt.SetDuration(media.Rescale(pkt.Duration(), src.Stream().TimeBase, vtb))
			vt := float64(pkt.Dts()) * float64(vtb.Num) / float64(vtb.Den)
			for other != nil {
				tb := tbs[other.StreamIndex()]
				if float64(other.Dts())*float64(tb.num)/float64(tb.den) > vt {
					break
				}
				if err := enc.WritePacket(other); err != nil {
					return res, err
				}
				if other, err = dec.ReadPassthrough(end); errors.Is(err, io.EOF) {
					other = nil
				} else if err != nil {
					return res, err
				}
			}
			if err := enc.WriteCopy(pkt); err != nil {
				return res, err
			}
		}
		if k > 0 {
			src.Close()
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	for other != nil {
		if err := enc.WritePacket(other); err != nil {
			return res, err
		}
		if other, err = dec.ReadPassthrough(end); errors.Is(err, io.EOF) {
			other = nil
		} else if err != nil {
			return res, err
		}
	}
	res.Frames = enc.Frames()
	committed = true
	return res, enc.Finish(ctx)
}

// ConfigFromPlan returns the job a plan was made for, from the settings it records (every option
// that shapes the output), reading input, or the plan's own input when input is "". The runtime's
// machine-specific settings (library, threads, cache) and callbacks are left for the caller.
func ConfigFromPlan(plan *segment.Plan, input string) (Config, error) {
	var cfg Config
	if err := json.Unmarshal(plan.Settings, &cfg); err != nil {
		return cfg, fmt.Errorf("segment: plan settings: %w", err)
	}
	cfg.Input.Input = plan.Input
	if input != "" {
		cfg.Input.Input = input
	}
	return cfg, nil
}
