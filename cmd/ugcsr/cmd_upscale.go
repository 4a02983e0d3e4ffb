package main

import (
	"fmt"
	"image"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/preview"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// upscaleOptions holds the main command's flags.
type upscaleOptions struct {
	input, inputFormat, format string
	output                     string
	scale                      float64
	vf                         string
	model                      string
	codec, preset, pixFmt      string
	bitrate                    string
	crf                        int
	ss, t                      string
	frames                     int64
	overwrite, noOverwrite     bool
	loglevel                   string
	progress                   string
	workers, inflight          int
	preview                    string
	resume                     bool
	segmentSeconds             float64
	strength                   float64

	device string

	// cfg is what the job runs with; the model, runtime and temporal flags bind straight into it.
	cfg   pipeline.Config
	log   *logger
	ffLog *ffmpegLog // shared by copies of the options (ugcsr preview --compare)
}

func (o *upscaleOptions) flags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "i", Usage: "input file, URL, image pattern, or - for stdin", Destination: &o.input},
		&cli.StringFlag{Name: "input-format", Usage: "force the input format (ffmpeg's -f before -i)", Destination: &o.inputFormat},
		&cli.StringFlag{Name: "f", Usage: "force the output format: mp4, mov, matroska, webm, yuv4mpegpipe, nut, image2 ...", Destination: &o.format},
		&cli.Float64Flag{Name: "s", Usage: "scale factor for both sides", DefaultText: "2", Destination: &o.scale},
		&cli.StringFlag{Name: "vf", Usage: "output size as scale=W:H (-1 or -2 keeps the aspect ratio)", Destination: &o.vf},
		&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Value: backends.Default, EnvVars: []string{"UGCSR_MODEL"},
			Usage: "realesrgan-x4fast, realesrgan-x4plus, lanczos, bicubic, PATH.onnx or diffusion:DIR", Destination: &o.model},
		&cli.StringFlag{Name: "c:v", Aliases: []string{"vcodec"}, Usage: "video encoder: libx264 (default), libx265, libvpx-vp9, libaom-av1, png, ...", Destination: &o.codec},
		&cli.IntFlag{Name: "crf", Usage: "constant rate factor: 0 to 51 for libx264 and libx265, 0 to 63 for VP9 and AV1", DefaultText: "18 where the encoder takes one", Destination: &o.crf},
		&cli.StringFlag{Name: "preset", Usage: "encoder preset (default medium for x264/x265)", Destination: &o.preset},
		&cli.StringFlag{Name: "pix_fmt", Usage: "output pixel format, e.g. yuv420p, yuv420p10le (default yuv420p; lanczos and bicubic keep the input's planar YUV format)", Destination: &o.pixFmt},
		&cli.StringFlag{Name: "b:v", Usage: "video bit rate, e.g. 8M", Destination: &o.bitrate},
		&cli.StringFlag{Name: "ss", Usage: "start at this time (seconds or [HH:]MM:SS[.ms])", Destination: &o.ss},
		&cli.StringFlag{Name: "t", Usage: "read at most this duration", Destination: &o.t},
		&cli.Int64Flag{Name: "frames:v", Aliases: []string{"vframes"}, Usage: "stop after this many video frames", DefaultText: "all", Destination: &o.frames},
		&cli.BoolFlag{Name: "y", Usage: "overwrite the output if it exists", DisableDefaultText: true, Destination: &o.overwrite},
		&cli.BoolFlag{Name: "n", Usage: "never overwrite the output (the default)", DisableDefaultText: true, Destination: &o.noOverwrite},
		&cli.BoolFlag{Name: "strict", Usage: "fail (exit 1, no output) at the first sign of damage in the input, instead of writing what decodes and reporting what was lost", DisableDefaultText: true, Destination: &o.cfg.Input.Strict},
		&cli.StringFlag{Name: "loglevel", Aliases: []string{"v"}, Value: "info", Usage: "quiet, error, warning, info, verbose or debug", Destination: &o.loglevel},
		&cli.StringFlag{Name: "progress", Usage: "write ffmpeg-style key=value progress to pipe:1, pipe:2 or a file", Destination: &o.progress},
		&cli.IntFlag{Name: "workers", Usage: "backend workers", DefaultText: "1 for ONNX models, cores for classical", Destination: &o.workers},
		&cli.IntFlag{Name: "max-inflight", Usage: "frames in flight between decoder and encoder", DefaultText: "2*workers*batch+2", Destination: &o.inflight},
		&cli.StringFlag{Name: "device", Value: "auto", EnvVars: []string{"UGCSR_DEVICE"}, Usage: "auto, cpu, cuda or tensorrt (ONNX models)", Destination: &o.device},
		&cli.StringFlag{Name: "ort-lib", EnvVars: []string{"UGCSR_ORT_LIB"}, Usage: "path of libonnxruntime.so (default: the build setup caches for the device: ort-gpu/ for cuda and tensorrt, and for auto where a GPU shows; else ort/)", Destination: &o.cfg.Backends.Runtime.Library},
		&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads", DefaultText: "cores", Destination: &o.cfg.Backends.Runtime.Threads},
		&cli.IntFlag{Name: "tile", Usage: "model tile size in input pixels", DefaultText: "automatic", Destination: &o.cfg.Backends.RealESRGAN.Tile},
		&cli.StringFlag{Name: "precision", Usage: "arithmetic of realesrgan-x4fast/x4plus: auto, fp32, fp16 (float16 weights and activations) or int8 (x4fast on the CPU: calibrated int8 weights and activations); a PATH.onnx model runs as it is (fp32)", DefaultText: "auto: fp16 on cuda/tensorrt, on the CPU int8 for x4fast where it passes its quality gates and the CPU has VNNI, else fp32", Destination: &o.cfg.Backends.RealESRGAN.Precision},
		&cli.IntFlag{Name: "model-scale", Usage: "native scale of a PATH.onnx model", DefaultText: "found by a probe run", Destination: &o.cfg.Backends.RealESRGAN.ModelScale},
		&cli.IntFlag{Name: "sam-refresh", Category: "diffusion (--model diffusion:DIR)", Usage: "recompute the SAM2 embedding at least every N frames of a scene", DefaultText: "only at scene cuts", Destination: &o.cfg.SegmentRefresh},
		&cli.BoolFlag{Name: "resume", DisableDefaultText: true, Destination: &o.resume, Usage: "keep finished segments (about every 2 s of video) in a hidden directory beside the output, so that the same command run again after a crash, a kill or Ctrl-C continues where it stopped; removed once the output is complete"},
		&cli.Float64Flag{Name: "segment-seconds", Usage: "target length of a --resume segment", DefaultText: "2", Destination: &o.segmentSeconds},
		&cli.StringFlag{Name: "preview", Usage: "watch the job in a browser at this [HOST]:PORT (:8080 listens on 127.0.0.1 only)", Destination: &o.preview},
		&cli.Float64Flag{Name: "strength", Value: 1, Usage: "the model's share of the output: 1 the model alone, 0 Lanczos alone, in between a blend of the two (less sharp, closer to the source, less flicker); not for lanczos and bicubic", Destination: &o.strength},
		&cli.BoolFlag{Name: "stabilize", Usage: "where the input is unchanged, keep the earlier output, moved only as much as the input changed (less flicker; tile reuse's second setting, so not with --reuse-tiles)", DisableDefaultText: true, Destination: &o.cfg.Stabilize},
		&cli.Float64Flag{Name: "reuse-tiles", Usage: "reuse the output of input tiles whose blocks changed by less than this mean absolute difference (0..1, e.g. 0.02) since their output was computed; not for diffusion", DefaultText: "off", Destination: &o.cfg.ReuseTiles},
	}, diffusionFlags(&o.cfg.Backends.Diffusion)...)
}

// finalize validates the flags and builds the pipeline config.
func (o *upscaleOptions) finalize(c *cli.Context) error {
	lvl, err := parseLogLevel(o.loglevel)
	if err != nil {
		return usageError{err.Error()}
	}
	o.log = newLogger(os.Stderr, lvl)
	o.ffLog = &ffmpegLog{}
	o.ffLog.install(o.log, ffmpegLogLevel(lvl))
	if c.Args().First() != "" && isCommand(c.App, c.Args().First()) {
		return nil
	}
	if c.NArg() == 0 && o.input == "" {
		return nil // plain "ugcsr": the action shows help
	}
	if o.input == "" {
		return usageError{"no input: give one with -i"}
	}
	switch c.NArg() {
	case 0:
		return usageError{"no output file given"}
	case 1:
		o.output = c.Args().First()
	default:
		return usageError{fmt.Sprintf("one output expected, got %q", c.Args().Slice())}
	}
	if o.overwrite && o.noOverwrite {
		return usageError{"-y and -n contradict each other"}
	}
	if err := o.refuseValues(c); err != nil {
		return err
	}
	return o.build()
}

// build turns the flags into the pipeline config.
func (o *upscaleOptions) build() (err error) {
	cfg := &o.cfg
	cfg.Model, cfg.Scale, cfg.Workers, cfg.MaxInFlight = o.model, o.scale, o.workers, o.inflight
	cfg.Input.Input, cfg.Input.Format, cfg.Input.MaxFrames = o.input, o.inputFormat, o.frames
	if o.ss != "" {
		if cfg.Input.Start, err = parseTime(o.ss); err != nil {
			return usageError{"-ss: " + err.Error()}
		}
	}
	if o.t != "" {
		if cfg.Input.Duration, err = parseTime(o.t); err != nil {
			return usageError{"-t: " + err.Error()}
		}
		if cfg.Input.Duration <= 0 {
			return usageError{fmt.Sprintf("-t %s: want a duration above 0", o.t)}
		}
	}
	if o.vf != "" {
		if cfg.Size, err = parseScaleFilter(o.vf); err != nil {
			return usageError{"-vf: " + err.Error()}
		}
	}
	cfg.Output.Output, cfg.Output.Format, cfg.Output.Overwrite = o.output, o.format, o.overwrite
	cfg.Output.Codec, cfg.Output.CRF, cfg.Output.Preset, cfg.Output.PixFmt = o.codec, o.crf, o.preset, o.pixFmt
	if o.bitrate != "" {
		if cfg.Output.Bitrate, err = parseBitrate(o.bitrate); err != nil {
			return usageError{"-b:v: " + err.Error()}
		}
	}
	if isSingleImage(o.output, o.format) && cfg.Input.MaxFrames == 0 {
		cfg.Input.MaxFrames = 1 // one picture out: stop after the first frame
	}
	if cfg.Backends.Runtime.Device, err = ort.ParseDevice(o.device); err != nil {
		return usageError{"--device: " + err.Error()}
	}
	if !(cfg.ReuseTiles >= 0) {
		return usageError{fmt.Sprintf("--reuse-tiles %v: want a threshold above 0", cfg.ReuseTiles)}
	}
	if !(o.strength >= 0 && o.strength <= 1) {
		return usageError{fmt.Sprintf("--strength %v: want 0 to 1", o.strength)}
	}
	if o.strength != 1 && (o.model == "lanczos" || o.model == "bicubic") {
		return usageError{fmt.Sprintf("--strength %v: a strength blends a learned model with Lanczos; --model %s has none", o.strength, o.model)}
	}
	cfg.Strength = &o.strength
	if cfg.Stabilize && cfg.ReuseTiles > 0 {
		return usageError{"--stabilize and --reuse-tiles are two settings of one mechanism: choose one"}
	}
	if err := cfg.Backends.Diffusion.Init(); err != nil {
		return usageError{err.Error()}
	}
	if err := cfg.Backends.RealESRGAN.Init(); err != nil {
		return usageError{err.Error()}
	}
	if o.segmentSeconds != 0 && !(o.segmentSeconds >= 0.04 && o.segmentSeconds <= 86400) {
		return usageError{fmt.Sprintf("--segment-seconds %v: want a length from 0.04 to 86400 seconds", o.segmentSeconds)}
	}
	if o.resume {
		cfg.Resume = &pipeline.Resume{Length: time.Duration(o.segmentSeconds * float64(time.Second))}
	}
	cfg.Logf = o.log.infof
	cfg.Backends.Logf = o.log.infof
	return nil
}

func isCommand(app *cli.App, name string) bool {
	for _, c := range app.Commands {
		if c.Name == name {
			return true
		}
	}
	return false
}

func isSingleImage(out, format string) bool {
	ext := strings.ToLower(out[strings.LastIndexByte(out, '.')+1:])
	return !strings.Contains(out, "%") && (format == "image2" || format == "" && (ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "tiff"))
}

func runUpscale(c *cli.Context, o *upscaleOptions, stop <-chan struct{}) error {
	if o.input == "" && c.NArg() == 0 {
		return cli.ShowAppHelp(c)
	}
	cfg := o.cfg
	cfg.Input.Stop = stop
	o.reportLeftovers()
	pw, closeProgress, err := openProgress(o.progress)
	if err != nil {
		return err
	}
	defer closeProgress()
	var srv *preview.Server
	if o.preview != "" {
		if srv, err = preview.Listen(preview.Config{Addr: o.preview}); err != nil {
			return err
		}
		o.log.infof("preview: %s", srv.URL())
		cfg.Observe = srv.Frame
	}
	line := newStatusLine(os.Stderr, o.log.level >= levelInfo && isTerminal(os.Stderr))
	cfg.Progress = func(s pipeline.Stats) {
		if pw != nil {
			writeProgress(pw, s)
		}
		line.update(s)
		if srv != nil {
			srv.SetStats(previewStats(s))
		}
	}
	res, err := pipeline.Run(c.Context, cfg)
	line.finish()
	if srv != nil {
		srv.Close(endState(res, err))
	}
	if err != nil {
		return o.ffLog.annotate(err)
	}
	where := cfg.Output.Output
	if where == "-" {
		where = "standard output"
	}
	st := res.Stats
	if res.Interrupted && res.Frames == 0 && res.Resume == nil {
		o.log.errorf("interrupted before the first frame was done: no output written")
		return errInterrupted
	}
	if res.Interrupted && res.Resume != nil {
		r := res.Resume
		o.log.errorf("interrupted: kept %d of %d segments (%d frames) in %s; run the same command again to continue",
			r.Done, r.Segments, r.Frames, r.Dir)
		return errInterrupted
	}
	if res.Interrupted {
		o.log.errorf("interrupted: wrote a playable partial output to %s (%d frames)", where, res.Frames)
		return errInterrupted
	}
	if fo := res.Input.Video.FieldOrder; fo != "" {
		o.log.infof("interlaced input (field order %s): deinterlaced with FFmpeg's bwdif before the model", fo)
	}
	for _, n := range res.Notes {
		o.log.warnf("%s", n)
	}
	for _, s := range res.NotCopied {
		o.log.warnf("not copied: stream #%d (%s %s): the output's container cannot hold it", s.Index, s.Type, s.Codec)
	}
	if report := damageReport(res); report != "" {
		o.log.warnf("damaged input: %s", report)
	}
	o.log.infof("wrote %s: %d frames %dx%d -> %dx%d with %s in %.1fs (%.2f fps)",
		where, res.Frames, res.InSize.X, res.InSize.Y, res.OutSize.X, res.OutSize.Y, res.Model, st.Elapsed.Seconds(), st.FPS)
	return nil
}

// reportLeftovers names what earlier runs for this output left behind: temporary files of runs
// that were killed, and segments of a resumable job when this run does not resume it.
func (o *upscaleOptions) reportLeftovers() {
	out := o.cfg.Output.Output
	for _, p := range encode.StaleParts(out) {
		o.log.warnf("%s is left from a run that was killed before it finished (it is incomplete; delete it); --resume keeps finished segments across a kill", p)
	}
	if o.cfg.Resume == nil {
		if done, total, ok := pipeline.FindResumable(out); ok {
			o.log.warnf("found a partial job for %s (%d of %d segments done) in %s: add --resume to continue it", out, done, total, pipeline.ResumeDir(out))
		}
	} else if done, total, ok := pipeline.FindResumable(out); ok && done > 0 {
		o.log.infof("resuming: %d of %d segments found in %s", done, total, pipeline.ResumeDir(out))
	}
}

// maxSeconds is the longest time parseTime takes: about 292 years overflow a time.Duration.
const maxSeconds = 1e9

// parseTime accepts seconds ("12.5") or [HH:]MM:SS[.frac], as ffmpeg does.
func parseTime(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	var total float64
	for _, p := range parts {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || !(v >= 0) || math.IsInf(v, 0) { // !(v >= 0) refuses NaN too
			return 0, fmt.Errorf("bad time %q", s)
		}
		total = total*60 + v
	}
	if total > maxSeconds {
		return 0, fmt.Errorf("time %q is too long", s)
	}
	return time.Duration(total * float64(time.Second)), nil
}

// maxSide is the largest output side -vf takes, checked before anything is allocated (8K is 7680).
const maxSide = 16384

// parseScaleFilter reads "scale=W:H" (or "W:H", "scale=w=W:h=H").
func parseScaleFilter(s string) (image.Point, error) {
	s = strings.TrimPrefix(s, "scale=")
	s = strings.NewReplacer("w=", "", "h=", "", "x", ":").Replace(s)
	parts := strings.Split(s, ":")
	if len(parts) != 2 {
		return image.Point{}, fmt.Errorf("only scale=W:H is supported, got %q", s)
	}
	w, err1 := strconv.Atoi(parts[0])
	h, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || (w <= 0 && h <= 0) || w == 0 || h == 0 || w < -2 || h < -2 || w > maxSide || h > maxSide {
		return image.Point{}, fmt.Errorf("bad size %q (want W:H, one side may be -1 or -2)", s)
	}
	return image.Pt(w, h), nil
}

// parseBitrate reads 800k, 8M, 8000000.
func parseBitrate(s string) (int64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k") || strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v*mult >= 1 && v*mult <= 1e12) { // also refuses NaN and Inf; 1 Tbit/s is no bit rate
		return 0, fmt.Errorf("bad bit rate %q", s)
	}
	return int64(v * mult), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
