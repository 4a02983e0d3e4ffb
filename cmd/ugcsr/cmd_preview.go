package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/preview"
)

// previewOptions holds the preview command's flags; up takes the model and size flags.
type previewOptions struct {
	up      upscaleOptions
	at      string
	frames  int
	out     string
	compare string
}

// previewSkips are the upscale flags that mean nothing to a preview (it writes no video).
var previewSkips = map[string]bool{"f": true, "c:v": true, "crf": true, "preset": true, "pix_fmt": true,
	"b:v": true, "ss": true, "t": true, "frames:v": true, "n": true, "progress": true}

func previewCommand(stop <-chan struct{}) *cli.Command {
	o := &previewOptions{}
	flags := []cli.Flag{
		&cli.StringFlag{Name: "at", Usage: "time of the first frame (seconds or [HH:]MM:SS[.ms]); the input is seeked, not read from the start", Required: true, Destination: &o.at},
		&cli.IntFlag{Name: "frames", Value: 5, Usage: "frames to process (1 to 60)", Destination: &o.frames},
		&cli.StringFlag{Name: "o", Usage: "write the first frame side by side (left: input or A, right: output or B) to this PNG and exit instead of serving", Destination: &o.out},
		&cli.StringFlag{Name: "compare", Usage: "run the frames again with these flags changed, e.g. '--model lanczos', and show the two outputs", Destination: &o.compare},
	}
	for _, f := range o.up.flags() {
		if !previewSkips[f.Names()[0]] {
			flags = append(flags, f)
		}
	}
	return &cli.Command{
		Name:        "preview",
		Usage:       "upscale a few frames around a time and show them in the browser (or write a PNG)",
		UsageText:   "ugcsr preview -i clip.mp4 --at 3.5 [--frames 5] [--model M -s 2 ...] [--compare '--model lanczos'] [--preview :8080 | -o side.png]",
		Description: "The frames are centred on --at: with --frames 5, two come before it. -o writes the frame at --at.",
		Flags:       flags,
		Before:      func(c *cli.Context) error { return o.finalize(c) },
		Action:      func(c *cli.Context) error { return runPreview(c.Context, o, stop) },
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError{"preview: " + err.Error()}
		},
	}
}

func (o *previewOptions) finalize(c *cli.Context) error {
	u := &o.up
	lvl, err := parseLogLevel(u.loglevel)
	if err != nil {
		return usageError{err.Error()}
	}
	u.log = newLogger(os.Stderr, lvl)
	u.ffLog = &ffmpegLog{}
	u.ffLog.install(u.log, ffmpegLogLevel(lvl))
	if u.input == "" {
		return usageError{"preview: no input: give one with -i"}
	}
	if u.input == "-" {
		return usageError{"preview: needs a file to seek in, not standard input"}
	}
	if c.NArg() > 0 {
		return usageError{fmt.Sprintf("preview: unexpected arguments %q", c.Args().Slice())}
	}
	if o.frames < 1 || o.frames > 60 {
		return usageError{fmt.Sprintf("preview: --frames %d: want 1 to 60", o.frames)}
	}
	if u.ss, u.frames = o.at, int64(o.frames); u.preview == "" && o.out == "" {
		u.preview = ":8080"
	}
	if o.out != "" {
		if _, err := os.Stat(o.out); err == nil && !u.overwrite {
			return fmt.Errorf("preview: %q: %w", o.out, encode.ErrExists)
		}
	}
	// Nothing is written: the frames go to FFmpeg's null muxer (as wrapped_avframe, no encoding).
	u.output, u.format = "-", "null"
	return u.build()
}

// compareOptions is the first run's options with the --compare flags applied on top.
func (o *previewOptions) compareOptions() (*upscaleOptions, error) {
	u := &upscaleOptions{}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, f := range u.flags() {
		if err := f.Apply(fs); err != nil {
			return nil, err
		}
	}
	*u = o.up // the flag set points into u: the values it parses land over the first run's
	u.cfg.Progress, u.cfg.Observe = nil, nil
	if err := fs.Parse(strings.Fields(o.compare)); err != nil {
		return nil, usageError{"--compare: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("--compare: unexpected arguments %q", fs.Args())}
	}
	if err := u.build(); err != nil {
		return nil, err
	}
	return u, nil
}

// shotFrames collects copies of the frames a run shows its observer.
type shotFrames struct {
	in, out []*frame.Frame
	t       []time.Duration
}

func (s *shotFrames) observe(src, dst *frame.Frame, t time.Duration) {
	s.in = append(s.in, cloneFrame(src))
	s.out = append(s.out, cloneFrame(dst))
	s.t = append(s.t, t)
}

func cloneFrame(f *frame.Frame) *frame.Frame {
	c := frame.New(f.W, f.H)
	copy(c.Pix, f.Pix)
	c.CopyMeta(f)
	return c
}

func runPreview(ctx context.Context, o *previewOptions, stop <-chan struct{}) error {
	var cmp *upscaleOptions
	if o.compare != "" {
		var err error
		if cmp, err = o.compareOptions(); err != nil {
			return err
		}
	}
	start, err := o.start(ctx)
	if err != nil {
		return err
	}
	o.up.cfg.Input.Start = start
	if cmp != nil {
		cmp.cfg.Input.Start = start
	}
	var srv *preview.Server
	if o.out == "" { // listen first: a taken port fails before any work
		labels := [2]string{"input", "output"}
		if cmp != nil {
			labels = [2]string{"A: " + o.up.model, "B: " + o.compare}
		}
		var err error
		if srv, err = preview.Listen(preview.Config{Addr: o.up.preview, Labels: labels, Keep: o.frames, All: true}); err != nil {
			return err
		}
		defer srv.Close(preview.Interrupted) // a no-op once closed below
	}

	run := func(u *upscaleOptions) (*shotFrames, pipeline.Result, error) {
		shots := &shotFrames{}
		cfg := u.cfg
		cfg.Input.Stop = stop
		cfg.Observe = shots.observe
		res, err := pipeline.Run(ctx, cfg)
		if err == nil && res.Interrupted {
			err = errInterrupted
		}
		return shots, res, u.ffLog.annotate(err)
	}
	first, res, err := run(&o.up)
	if err != nil {
		return err
	}
	left, right := first.in, first.out
	if cmp != nil {
		second, _, err := run(cmp)
		if err != nil {
			return err
		}
		left, right = first.out, second.out[:min(len(second.out), len(first.out))]
	}
	right = right[:min(len(left), len(right))]
	at, _ := parseTime(o.at)
	shown := len(right) - 1 // the frame at --at: the first one starting there or later, as with -ss
	for i := len(right) - 1; i >= 0; i-- {
		if start+first.t[i] >= at-time.Millisecond {
			shown = i
		}
	}
	if o.out != "" {
		return writeSideBySide(o.out, left[shown], right[shown])
	}
	st := previewStats(res.Stats)
	srv.SetStats(st)
	for i := range right {
		srv.Frame(left[i], right[i], start+first.t[i])
	}
	srv.SetState(preview.Finished)
	o.up.log.infof("preview: %d frames from %s at %s: %s (Ctrl-C to stop)", len(right), o.up.input, o.at, srv.URL())
	select {
	case <-stop:
	case <-ctx.Done():
	}
	srv.Close(preview.Finished)
	return nil
}

// start is where to seek: half the frames before --at, as the input's frame rate has it.
func (o *previewOptions) start(ctx context.Context) (time.Duration, error) {
	at := o.up.cfg.Input.Start
	if o.frames == 1 {
		return at, nil
	}
	dec, err := decode.Open(ctx, decode.Options{Input: o.up.input, Format: o.up.inputFormat})
	if err != nil {
		return 0, err
	}
	rate := dec.Info().Video.FrameRate
	dec.Close()
	if rate.Num <= 0 || rate.Den <= 0 {
		return at, nil
	}
	before := time.Duration(float64((o.frames-1)/2) * float64(rate.Den) / float64(rate.Num) * float64(time.Second))
	return max(0, at-before), nil
}

// writeSideBySide writes a and b next to each other at b's size; a is scaled by nearest neighbour.
func writeSideBySide(path string, a, b *frame.Frame) error {
	ai, bi := a.ToRGBA(), b.ToRGBA()
	img := image.NewRGBA(image.Rect(0, 0, 2*b.W, b.H))
	for y := 0; y < b.H; y++ {
		for x := 0; x < b.W; x++ {
			img.SetRGBA(x, y, ai.RGBAAt(x*a.W/b.W, y*a.H/b.H))
		}
	}
	draw.Draw(img, image.Rect(b.W, 0, 2*b.W, b.H), bi, image.Point{}, draw.Src)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("preview: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("preview: write %s: %w", path, err)
	}
	return nil
}
