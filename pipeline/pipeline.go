// Package pipeline runs a whole upscaling job: decode → N backend workers → reorder → encode, over
// bounded channels, with the first error cancelling every stage.
//
// Memory is bounded by Config.MaxInFlight: a frame takes a slot when it is decoded and gives it back
// once its upscaled version is encoded, so at most that many input and output frames exist at once,
// however fast or slow each stage is. Frame buffers come from pools.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
	"github.com/ugcsr/ugcsr/temporal"
)

// Config describes one job. Input, Output and a model are required; everything else has a default.
type Config struct {
	Input  decode.Options
	Output encode.Options

	// Model names the backend (see backends.Open) (optional). It defaults to backends.Default.
	Model string
	// Backend, when set, is used instead of opening Model; Run does not close it.
	Backend sr.Backend `json:"-"`
	// Backends configures the opened backend (optional).
	Backends backends.Options

	// Scale multiplies both sides (-s) (optional). It defaults to 2 when Size is unset.
	Scale float64
	// Size is an explicit output size (-vf scale=W:H) (optional); a -1 side keeps the aspect ratio.
	Size image.Point

	// Workers is the number of backend workers (optional). It defaults to the backend's
	// sr.Caps.Workers: 1 for ONNX models (they use every core themselves), the number of cores for
	// the classical ones.
	Workers int `json:"-"`
	// MaxInFlight caps the frames between decoder and encoder (optional). It defaults to
	// 2*Workers*batch + 2.
	MaxInFlight int `json:"-"`

	// Analyzer marks scene cuts, duplicate frames and segments on the frames before they reach the
	// workers (optional). It defaults to a temporal.Detector with SegmentRefresh as its segment age;
	// NoAnalysis turns it off. Cheap backends (sr.Caps) get none: skipping a duplicate saves less
	// than looking for it costs. A backend that needs segments (sr.Caps.SceneConstants) cannot do
	// without it.
	Analyzer   Analyzer `json:"-"`
	NoAnalysis bool
	// SegmentRefresh is the longest a segment lasts, in frames, before its per-scene constants are
	// computed again (--sam-refresh) (optional). It defaults to 0: segments end at scene cuts and
	// failed similarity checks only.
	SegmentRefresh int

	// ReuseTiles, when above 0, wraps the backend in sr/tilereuse with this threshold (optional):
	// input tiles that changed less since their output was computed keep that output. It runs one
	// worker, and does not apply to backends that need whole frames (sr.Caps.WholeFrames).
	ReuseTiles float64

	// Strength is a learned model's share of the output (--strength) (optional): 1 is the model
	// alone, 0 the Lanczos resampler alone, in between a blend of the two (sr/strength). nil means
	// 1. A classical backend takes none.
	Strength *float64
	// StrengthLinear blends in linear light instead of on the samples (optional; measured, not
	// chosen: see README).
	StrengthLinear bool
	// Stabilize keeps the earlier output where the input is unchanged, moved by the Lanczos
	// upscale of the input's change (--stabilize; tile reuse's second setting, sr/tilereuse)
	// (optional). It runs one worker and cannot be combined with ReuseTiles.
	Stabilize bool

	// Progress is called about every ProgressInterval and once at the end (optional). It must not
	// block.
	Progress         func(Stats)   `json:"-"`
	ProgressInterval time.Duration `json:"-"`

	// Logf receives one-line notices (optional).
	Logf func(format string, args ...any) `json:"-"`

	// Resume, when set, runs the job in segments kept on disk until the output is complete, so a
	// rerun after a crash or a kill continues where it stopped (see Resume) (optional).
	Resume *Resume `json:"-"`

	// Observe is shown every frame once it is encoded (optional): src is the decoded input, dst its
	// output (for a duplicate, the repeated previous output) and t the input's timestamp since the
	// start. Both frames are lent for the call and read-only: copy what is kept. It runs on the
	// encoding goroutine, so it must return quickly (package preview copies at most one pair
	// now and then and drops the rest).
	Observe func(src, dst *frame.Frame, t time.Duration) `json:"-"`
}

// Analyzer looks at every decoded frame in order, before upscaling, and may set frame.Scene,
// frame.Dup and frame.Segment. It runs on the decoder goroutine; an error ends the job.
type Analyzer interface {
	Analyze(f *frame.Frame) error
}

// Stats is a progress snapshot.
type Stats struct {
	Frames   int64         // frames written
	Total    int64         // expected frames, 0 when unknown
	Elapsed  time.Duration // since decoding started
	OutTime  time.Duration // media time written
	Duration time.Duration // expected media duration, 0 when unknown
	FPS      float64
	Speed    float64 // media time per wall time
	ETA      time.Duration
	Done     bool
	// InFlight counts the frames decoded and not yet encoded; PeakInFlight is the most there have
	// been at once, which Config.MaxInFlight bounds.
	InFlight, PeakInFlight int64
	// Counters holds backend and pipeline counters (dup_frames, ...) in a stable order.
	Counters []Counter
}

// Counter is one named count shown in -progress output.
type Counter struct {
	Key   string
	Value int64
}

// Result summarises a finished job.
type Result struct {
	Input       media.Input
	InSize      image.Point
	OutSize     image.Point
	Model       string
	Frames      int64
	Interrupted bool // Stop was closed: the output holds the frames up to that point
	// SourceFormat reports that frames stayed in the source's own pixel format end to end
	// (sr.Caps.SourceFormat), which the output then has too.
	SourceFormat bool
	Stats        Stats
	// Resume describes the segments of a resumable job (Config.Resume); nil otherwise.
	Resume *ResumeState
	// NotCopied are the input's streams the output's container cannot hold, left out.
	NotCopied []media.Stream
	// Notes say in words what the output loses of the input (encode.Encoder.Notes).
	Notes []string
	// Damage is what a damaged input lost (decode.Damage); with Input.Strict any damage fails the
	// job instead.
	Damage decode.Damage
}

// ErrNoFrames is returned when the input yields no video frame at all.
var ErrNoFrames = errors.New("no video frames decoded")

// item travels from the decoder through a worker to the reorder stage.
type item struct {
	src *frame.Frame
	dst *frame.Frame // nil for duplicates, which reuse the previous output
}

// Run executes the job. It returns when the output is complete (renamed into place) or, on error,
// when every goroutine has stopped and the partial output is removed. Closing cfg.Input.Stop ends
// the job early with a complete, playable output of the frames read so far (Result.Interrupted).
// With cfg.Resume the job runs in segments that survive a crash (see Resume).
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Resume != nil {
		return runResumable(ctx, cfg)
	}
	if err := encode.CheckOutput(cfg.Output); err != nil {
		return res, err
	}
	if err := encode.CheckNotInput(cfg.Output.Output, cfg.Input.Input); err != nil {
		return res, err
	}
	dec, err := decode.Open(ctx, cfg.Input)
	if err != nil {
		return res, err
	}
	defer dec.Close()
	res.Input = dec.Info()
	info := res.Input.Video
	j, err := openJob(cfg, image.Pt(info.Width, info.Height))
	if err != nil {
		return res, err
	}
	defer j.Close()
	res.InSize, res.OutSize, res.Model = j.spec.In, j.spec.Out, j.backend.Name()

	ups, batch, err := j.newUpscalers()
	if err != nil {
		return res, err
	}
	defer closeAll(ups)
	cfg = j.cfg
	outPool, srcFormat := j.outPool(dec, info)
	if srcFormat {
		cfg.Output.SourceFormat = true
		res.SourceFormat = true
	}
	enc, err := encode.Open(cfg.Output, res.Input, j.spec.Out.X, j.spec.Out.Y)
	if err != nil {
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			enc.Close(false)
		}
	}()
	res.NotCopied = enc.Skipped()
	res.Notes = enc.Notes()
	// The decoder was opened before the encoder existed; hand it the packet sink now.
	dec.SetOnPacket(enc.WritePacket)

	r := j.newRunner(dec, enc, ups, batch, outPool, info)
	stats, err := r.run(ctx)
	res.Stats = stats
	res.Damage = dec.Damage()
	res.Frames = stats.Frames
	if err != nil {
		return res, err
	}
	if stats.Frames == 0 && dec.Stopped() {
		res.Interrupted = true // stopped before the first frame: nothing to keep
		return res, nil
	}
	if stats.Frames == 0 {
		return res, fmt.Errorf("decode: %q: %w", cfg.Input.Input, ErrNoFrames)
	}
	committed = true
	if err := enc.Finish(ctx); err != nil {
		return res, err
	}
	res.Interrupted = dec.Stopped()
	return res, nil
}

// job is a job's backend, opened and set up for one input size: what every run of its frames
// shares (a whole run, or each segment of a resumable one).
type job struct {
	cfg     Config // with the defaults resolved (Analyzer, Workers)
	backend sr.Backend
	owned   []sr.Backend // opened here: closed by Close
	caps    sr.Caps
	spec    sr.Spec
}

// openJob opens cfg's backend (unless cfg.Backend is given), wraps it for tile reuse and picks the
// analyzer and the worker count.
func openJob(cfg Config, in image.Point) (_ *job, err error) {
	out, err := OutputSize(in, cfg.Scale, cfg.Size)
	if err != nil {
		return nil, err
	}
	j := &job{cfg: cfg, spec: sr.Spec{In: in, Out: out}, backend: cfg.Backend}
	defer func() {
		if err != nil {
			j.Close()
		}
	}()
	if j.backend == nil {
		model := cfg.Model
		if model == "" {
			model = backends.Default
		}
		bo := cfg.Backends
		if bo.Logf == nil {
			bo.Logf = cfg.Logf
		}
		if j.backend, err = backends.Open(model, bo); err != nil {
			return nil, err
		}
		j.owned = append(j.owned, j.backend)
	}
	if j.backend, err = fidelity(j.backend, &cfg); err != nil {
		return nil, err
	}
	j.caps = j.backend.Caps()
	if t := cfg.ReuseTiles; t > 0 {
		if j.caps.WholeFrames {
			return nil, fmt.Errorf("tile reuse does not apply to %s: it needs whole frames", j.backend.Name())
		}
		if cfg.Workers > 1 {
			cfg.Logf("tile reuse runs one backend worker (asked for %d)", cfg.Workers)
		}
		cfg.Workers = 0
		if j.backend, err = tilereuse.New(j.backend, tilereuse.Config{Threshold: t, Logf: cfg.Logf}); err != nil {
			return nil, err
		}
		j.caps = j.backend.Caps()
	}
	if cfg.Analyzer == nil && j.wantsAnalyzer() {
		if cfg.Analyzer, err = j.newAnalyzer(); err != nil {
			return nil, err
		}
	}
	if cfg.Analyzer == nil && j.caps.SceneConstants {
		cfg.Logf("%s: no analyzer: every frame shares one segment of per-scene constants", j.backend.Name())
	}
	if cfg.Workers <= 0 {
		cfg.Workers = max(j.caps.Workers, 1)
	}
	j.cfg = cfg
	return j, nil
}

// wantsAnalyzer reports whether the job gets the default analyzer: cheap backends get none
// (skipping a duplicate saves less than looking for it costs) unless they need segments.
func (j *job) wantsAnalyzer() bool {
	return !j.cfg.NoAnalysis && (!j.caps.Cheap || j.caps.SceneConstants)
}

func (j *job) newAnalyzer() (Analyzer, error) {
	det := &temporal.Detector{Refresh: j.cfg.SegmentRefresh}
	if err := det.Init(); err != nil {
		return nil, err
	}
	return det, nil
}

// Close closes the backend if the job opened it. It is idempotent.
func (j *job) Close() {
	for _, b := range j.owned {
		b.Close()
	}
	j.owned = nil
}

// newUpscalers makes the job's workers and returns their largest batch.
func (j *job) newUpscalers() (ups []sr.Upscaler, batch int, err error) {
	batch = 1
	for i := 0; i < j.cfg.Workers; i++ {
		u, err := j.backend.NewUpscaler(j.spec)
		if err != nil {
			closeAll(ups)
			return nil, 0, fmt.Errorf("%s: %w", j.backend.Name(), err)
		}
		ups = append(ups, u)
		batch = max(batch, u.BatchSize())
	}
	return ups, batch, nil
}

func closeAll(ups []sr.Upscaler) {
	for _, u := range ups {
		u.Close()
	}
}

// outPool returns the pool of output frames. A backend that takes the source's own format gets it
// from decoder to encoder, with no float RGB anywhere, unless an analyzer (which reads float RGB)
// or the output needs float RGB; srcFormat reports that choice.
func (j *job) outPool(dec *decode.Decoder, info media.Video) (pool *frame.Pool, srcFormat bool) {
	out := j.spec.Out
	if j.caps.SourceFormat && j.cfg.Analyzer == nil && encode.TakesSourceFormat(j.cfg.Output, info) && dec.UseSourceFormat() {
		return frame.NewYUVPool(out.X, out.Y, info.Planes), true
	}
	return frame.NewPool(out.X, out.Y), false
}

func (j *job) newRunner(dec *decode.Decoder, enc *encode.Encoder, ups []sr.Upscaler, batch int, outPool *frame.Pool, info media.Video) *runner {
	inflight := j.cfg.MaxInFlight
	if inflight <= 0 {
		inflight = 2*len(ups)*batch + 2
	}
	return &runner{cfg: j.cfg, dec: dec, enc: enc, backend: j.backend, ups: ups, batch: batch, analyzer: j.cfg.Analyzer,
		slots: make(chan struct{}, inflight), outPool: outPool, info: info}
}

// OutputSize resolves -s / -vf scale=W:H against the input size. Sides are rounded to even numbers,
// which 4:2:0 video needs.
func OutputSize(in image.Point, scale float64, size image.Point) (image.Point, error) {
	even := func(v float64) int {
		n := int(v + 0.5)
		if n%2 == 1 {
			n++
		}
		return max(n, 2)
	}
	switch {
	case size.X > 0 || size.Y > 0:
		if scale != 0 {
			return image.Point{}, errors.New("give either -s or -vf scale=W:H, not both")
		}
		w, h := float64(size.X), float64(size.Y)
		switch {
		case size.X <= 0 && size.Y <= 0:
			return image.Point{}, errors.New("scale: at least one side must be positive")
		case size.X <= 0:
			w = h * float64(in.X) / float64(in.Y)
		case size.Y <= 0:
			h = w * float64(in.Y) / float64(in.X)
		}
		return image.Pt(even(w), even(h)), nil
	case scale == 0:
		scale = 2
	}
	if !(scale >= 0.25 && scale <= 8) { // refuses NaN too
		return image.Point{}, fmt.Errorf("scale %g is out of range (0.25 to 8)", scale)
	}
	return image.Pt(even(float64(in.X)*scale), even(float64(in.Y)*scale)), nil
}

type runner struct {
	alpha    alphaResizer // the encoding goroutine's
	cfg      Config
	dec      *decode.Decoder
	enc      *encode.Encoder
	backend  sr.Backend
	analyzer Analyzer
	ups      []sr.Upscaler
	batch    int
	slots    chan struct{} // one token per frame in flight
	outPool  *frame.Pool
	info     media.Video
	// first is the Index of the first frame read (a segment's first frame); stamp, when set,
	// stamps the analyzer's facts on each frame instead of the analyzer (a segment run).
	first int64
	stamp func(*frame.Frame)

	written  atomic.Int64
	inFlight atomic.Int64 // decoded, not yet encoded
	peak     atomic.Int64 // the most inFlight has been
	outTime  atomic.Int64 // microseconds
	dups     atomic.Int64
	start    time.Time
}

func (r *runner) run(ctx context.Context) (Stats, error) {
	g, ctx := errgroup.WithContext(ctx)
	jobs := make(chan item, r.batch*len(r.ups))
	results := make(chan item, cap(r.slots))
	var workersDone sync.WaitGroup
	r.start = time.Now()

	// Progress reporter: stops with the job.
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if r.cfg.Progress != nil {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			iv := r.cfg.ProgressInterval
			if iv <= 0 {
				iv = 500 * time.Millisecond
			}
			t := time.NewTicker(iv)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
					r.cfg.Progress(r.stats(false))
				}
			}
		}()
	}

	g.Go(func() error { // decoder
		defer close(jobs)
		for {
			select {
			case r.slots <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			f, err := r.dec.Read(ctx)
			if err != nil {
				<-r.slots
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
			r.decoded()
			if r.stamp != nil {
				r.stamp(f)
			} else if r.analyzer != nil {
				if err := r.analyzer.Analyze(f); err != nil {
					f.Release()
					<-r.slots
					return err
				}
			}
			ch := jobs
			if f.Dup && f.Index > r.first {
				ch = results // nothing to compute: the encoder repeats the previous output
			}
			select {
			case ch <- item{src: f}:
			case <-ctx.Done():
				f.Release()
				return ctx.Err()
			}
		}
	})

	workersDone.Add(len(r.ups))
	for _, u := range r.ups {
		g.Go(func() error {
			defer workersDone.Done()
			return r.work(ctx, u, jobs, results)
		})
	}
	go func() { // results closes once no worker or decoder can send
		workersDone.Wait()
		close(results)
	}()

	g.Go(func() error { return r.reorder(ctx, results) })

	err := g.Wait()
	close(progressDone)
	progressWG.Wait()
	// Drain whatever is left so pooled frames are not stranded (only on error paths).
	for it := range results {
		it.src.Release()
		it.dst.Release()
	}
	st := r.stats(true)
	if r.cfg.Progress != nil && err == nil {
		r.cfg.Progress(st)
	}
	return st, err
}

// work upscales batches of frames.
func (r *runner) work(ctx context.Context, u sr.Upscaler, jobs <-chan item, results chan<- item) error {
	src := make([]*frame.Frame, 0, r.batch)
	dst := make([]*frame.Frame, 0, r.batch)
	pending := make([]item, 0, r.batch)
	for first := range jobs {
		pending = append(pending[:0], first)
	fill:
		for len(pending) < r.batch {
			select {
			case it, ok := <-jobs:
				if !ok {
					break fill
				}
				pending = append(pending, it)
			default:
				break fill
			}
		}
		src, dst = src[:0], dst[:0]
		for i := range pending {
			pending[i].dst = r.outPool.Get()
			pending[i].dst.CopyMeta(pending[i].src)
			src = append(src, pending[i].src)
			dst = append(dst, pending[i].dst)
		}
		if err := u.Upscale(ctx, dst, src); err != nil {
			err = fmt.Errorf("%s: frame %d: %w", r.backend.Name(), pending[0].src.Index, err)
			for _, it := range pending { // released frames go back to the decoder: touch them no more
				it.src.Release()
				it.dst.Release()
			}
			releaseRest(jobs)
			return err
		}
		for _, it := range pending {
			select {
			case results <- it:
			case <-ctx.Done():
				it.src.Release()
				it.dst.Release()
				releaseRest(jobs)
				return ctx.Err()
			}
		}
	}
	return nil
}

// releaseRest empties jobs after a failure so the decoder is never blocked on a send.
func releaseRest(jobs <-chan item) {
	go func() {
		for it := range jobs {
			it.src.Release()
		}
	}()
}

// reorder puts frames back in presentation order and encodes them.
func (r *runner) reorder(ctx context.Context, results <-chan item) error {
	waiting := map[int64]item{}
	next := r.first
	var last *frame.Frame // previous output, repeated for duplicates
	defer func() {
		last.Release()
		for _, it := range waiting {
			it.src.Release()
			it.dst.Release()
		}
	}()
	for it := range results {
		waiting[it.src.Index] = it
		for {
			cur, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			if err := r.emit(cur, &last); err != nil {
				return err
			}
			next++
			<-r.slots
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if len(waiting) > 0 && ctx.Err() == nil {
		return fmt.Errorf("pipeline: %d frames never came back from the workers", len(waiting))
	}
	return nil
}

func (r *runner) emit(it item, last **frame.Frame) error {
	out := it.dst
	if out == nil { // duplicate: re-encode the previous output with this frame's timestamp
		if *last == nil {
			return fmt.Errorf("pipeline: frame %d marked duplicate before any output", it.src.Index)
		}
		out = *last
		pts, dur := out.PTS, out.Duration
		out.PTS, out.Duration = it.src.PTS, it.src.Duration
		err := r.enc.Encode(out)
		out.PTS, out.Duration = pts, dur
		if err != nil {
			return err
		}
		r.dups.Add(1)
	} else {
		if err := r.alpha.resize(out, it.src); err != nil {
			return err
		}
		if err := r.enc.Encode(out); err != nil {
			return err
		}
		(*last).Release()
		*last = out
	}
	r.written.Add(1)
	r.inFlight.Add(-1)
	t := media.Rescale(it.src.PTS+it.src.Duration, r.info.TimeBase, media.Rational{Num: 1, Den: 1_000_000})
	r.outTime.Store(t)
	if r.cfg.Observe != nil {
		pts := media.Rescale(it.src.PTS, r.info.TimeBase, media.Rational{Num: 1, Den: 1_000_000})
		r.cfg.Observe(it.src, out, time.Duration(pts)*time.Microsecond)
	}
	it.src.Release()
	return nil
}

// decoded counts a decoded frame into the in-flight figures. Only the decoder goroutine calls it,
// so only it writes peak.
func (r *runner) decoded() {
	if n := r.inFlight.Add(1); n > r.peak.Load() {
		r.peak.Store(n)
	}
}

func (r *runner) stats(done bool) Stats {
	s := Stats{
		Frames:   r.written.Load(),
		Total:    r.info.Frames,
		Elapsed:  time.Since(r.start),
		OutTime:  time.Duration(r.outTime.Load()) * time.Microsecond,
		Duration: r.info.Duration,
		Done:     done,
		InFlight: r.inFlight.Load(),
	}
	s.PeakInFlight = r.peak.Load()
	if sec := s.Elapsed.Seconds(); sec > 0 {
		s.FPS = float64(s.Frames) / sec
		s.Speed = s.OutTime.Seconds() / sec
	}
	if s.FPS > 0 && s.Total > s.Frames {
		s.ETA = time.Duration(float64(s.Total-s.Frames) / s.FPS * float64(time.Second))
	}
	s.Counters = append(s.Counters, Counter{"dup_frames", r.dups.Load()})
	for _, x := range []any{r.dec, r.enc, r.analyzer, r.backend} {
		if c, ok := x.(sr.Counter); ok {
			c.Counters(func(k string, v int64) { s.Counters = append(s.Counters, Counter{k, v}) })
		}
	}
	return s
}
