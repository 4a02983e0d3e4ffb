package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/segment"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// The scale-out commands: plan a job in segments, run one segment per process (a Kubernetes
// Indexed Job's pod, or a local process), join the finished segments.

// initLog sets up logging for a subcommand that takes the job flags.
func (o *upscaleOptions) initLog() error {
	lvl, err := parseLogLevel(o.loglevel)
	if err != nil {
		return usageError{err.Error()}
	}
	o.log = newLogger(os.Stderr, lvl)
	o.ffLog = &ffmpegLog{}
	o.ffLog.install(o.log, ffmpegLogLevel(lvl))
	return nil
}

// k8sOptions are ugcsr plan's flags for the Kubernetes manifest.
type k8sOptions struct {
	path, image, claim, mount string
	parallelism               int
	cpu, memory               string
}

func planCommand() *cli.Command {
	up := &upscaleOptions{}
	var out, dir string
	var segments int
	var k8s k8sOptions
	return &cli.Command{
		Name:  "plan",
		Usage: "split a job into segments for run-segment and join (and, with --k8s, a Kubernetes Indexed Job that runs them)",
		UsageText: "ugcsr plan -i clip.mp4 [--segments N | --segment-seconds S] [job options] -o plan.json [--k8s job.json]\n" +
			"ugcsr run-segment --plan plan.json --index K      (or JOB_COMPLETION_INDEX=K)\n" +
			"ugcsr join --plan plan.json out.mp4",
		Flags: append(up.flags(),
			&cli.StringFlag{Name: "o", Usage: "write the plan to this file", Value: "plan.json", Destination: &out},
			&cli.IntFlag{Name: "segments", Usage: "this many segments of about equal length (instead of --segment-seconds)", Destination: &segments},
			&cli.StringFlag{Name: "dir", Usage: "where segment files go, relative to the plan (a shared volume, an object-storage mount)", DefaultText: "beside the plan", Destination: &dir},
			&cli.StringFlag{Name: "k8s", Usage: "also write a Kubernetes Indexed Job (JSON, which kubectl reads as YAML) running one segment per pod to this file", Destination: &k8s.path},
			&cli.StringFlag{Name: "image", Usage: "--k8s: the container image with ugcsr", Value: "ugcsr:latest", Destination: &k8s.image},
			&cli.StringFlag{Name: "volume-claim", Usage: "--k8s: the PersistentVolumeClaim holding the input, the plan and the segments", Value: "ugcsr-data", Destination: &k8s.claim},
			&cli.StringFlag{Name: "mount", Usage: "--k8s: where that volume is mounted, here and in the pods (the plan's paths must be under it)", Destination: &k8s.mount},
			&cli.IntFlag{Name: "parallelism", Usage: "--k8s: pods at once", DefaultText: "all segments", Destination: &k8s.parallelism},
			&cli.StringFlag{Name: "cpu", Usage: "--k8s: CPU request per pod", Value: "2", Destination: &k8s.cpu},
			&cli.StringFlag{Name: "memory", Usage: "--k8s: memory request per pod", Value: "4Gi", Destination: &k8s.memory},
		),
		Action: func(c *cli.Context) error {
			if err := up.initLog(); err != nil {
				return err
			}
			if up.input == "" {
				return usageError{"plan: no input: give one with -i"}
			}
			if c.NArg() > 0 {
				return usageError{fmt.Sprintf("plan: unexpected %q (the output is named at join)", c.Args().Slice())}
			}
			if segments < 0 || segments > 0 && up.segmentSeconds != 0 {
				return usageError{"plan: give either --segments N (N >= 1) or --segment-seconds S"}
			}
			if err := up.build(); err != nil {
				return err
			}
			cfg, err := planConfig(up)
			if err != nil {
				return err
			}
			plan, err := writePlan(c, cfg, up, segments, dir, out)
			if err != nil {
				return err
			}
			if k8s.path != "" {
				if err := writeK8sJob(k8s, plan, out, cfg.Backends.Runtime.Device); err != nil {
					return err
				}
				up.log.infof("wrote %s: an Indexed Job of %d pods (kubectl apply -f %s)", k8s.path, len(plan.Segments), k8s.path)
			}
			return nil
		},
	}
}

// planConfig is the job of a plan: the output is named only at join, so its encoder is fixed now
// (the one the container of -f, else of an mp4, picks).
func planConfig(o *upscaleOptions) (pipeline.Config, error) {
	cfg := o.cfg
	cfg.Resume = nil
	if cfg.Output.Codec == "" {
		placeholder := cfg.Output
		if placeholder.Format == "" {
			placeholder.Output = "out.mp4"
		}
		so, err := encode.SegmentOptions(placeholder, "")
		if err != nil {
			return cfg, err
		}
		cfg.Output.Codec = so.Codec
	}
	return cfg, nil
}

// writePlan plans cfg's job (count segments, or of o's --segment-seconds) with segment files in
// dir (relative to the plan) and saves it at out.
func writePlan(c *cli.Context, cfg pipeline.Config, o *upscaleOptions, count int, dir, out string) (*segment.Plan, error) {
	length := time.Duration(o.segmentSeconds * float64(time.Second))
	plan, err := pipeline.NewPlan(c.Context, cfg, length, count)
	if err != nil {
		return nil, err
	}
	plan.Dir = dir
	if abs, err := filepath.Abs(cfg.Input.Input); err == nil {
		plan.Input = abs
	}
	if err := os.MkdirAll(plan.SegmentDir(out), 0o755); err != nil {
		return nil, err
	}
	if err := plan.Save(out); err != nil {
		return nil, err
	}
	o.log.infof("wrote %s: %d frames in %d segments (segment files in %s)", out, plan.Frames, len(plan.Segments), plan.SegmentDir(out))
	return plan, nil
}

// segmentJob loads a plan and the job it records, reading input instead of the plan's when set.
func segmentJob(planPath, input string, log *logger) (*segment.Plan, pipeline.Config, error) {
	if planPath == "" {
		return nil, pipeline.Config{}, usageError{"no plan: give one with --plan"}
	}
	plan, err := segment.Load(planPath)
	if err != nil {
		return nil, pipeline.Config{}, err
	}
	cfg, err := pipeline.ConfigFromPlan(plan, input)
	if err != nil {
		return nil, cfg, err
	}
	cfg.Logf, cfg.Backends.Logf = log.infof, log.infof
	return plan, cfg, nil
}

// runtimeFlags are the machine's own ONNX Runtime settings, which a plan does not record.
func runtimeFlags(r *ort.Runtime) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ort-lib", EnvVars: []string{"UGCSR_ORT_LIB"}, Usage: "path of libonnxruntime.so", Destination: &r.Library},
		&cli.IntFlag{Name: "threads", Usage: "ONNX Runtime intra-op threads", DefaultText: "cores", Destination: &r.Threads},
	}
}

func runSegmentCommand(stop <-chan struct{}) *cli.Command {
	var planPath, input, loglevel string
	var index int
	var rt ort.Runtime
	return &cli.Command{
		Name:  "run-segment",
		Usage: "upscale one segment of a plan into its file (what each pod of ugcsr plan --k8s runs)",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "plan", Usage: "the plan written by ugcsr plan", Destination: &planPath},
			&cli.IntFlag{Name: "index", Usage: "the segment, from 0", EnvVars: []string{"JOB_COMPLETION_INDEX"}, Value: -1, Destination: &index},
			&cli.StringFlag{Name: "i", Usage: "read the input from here instead of the plan's path (same content)", Destination: &input},
			&cli.StringFlag{Name: "loglevel", Aliases: []string{"v"}, Value: "info", Destination: &loglevel},
		}, runtimeFlags(&rt)...),
		Action: func(c *cli.Context) error {
			o := &upscaleOptions{loglevel: loglevel}
			if err := o.initLog(); err != nil {
				return err
			}
			plan, cfg, err := segmentJob(planPath, input, o.log)
			if err != nil {
				return err
			}
			if index < 0 {
				return usageError{"run-segment: no segment: give one with --index (or JOB_COMPLETION_INDEX)"}
			}
			cfg.Backends.Runtime.Library, cfg.Backends.Runtime.Threads = rt.Library, rt.Threads
			cfg.Input.Stop = stop
			dir := plan.SegmentDir(planPath)
			start := time.Now()
			st, err := pipeline.RunSegment(c.Context, cfg, plan, index, dir)
			if err != nil {
				return o.ffLog.annotate(fmt.Errorf("segment %d: %w", index, err))
			}
			o.log.infof("wrote %s: segment %d of %d, %d frames in %.1fs", filepath.Join(dir, plan.Name(index)), index, len(plan.Segments),
				st.Frames, time.Since(start).Seconds())
			return nil
		},
	}
}

func joinCommand() *cli.Command {
	var planPath, input, loglevel string
	var overwrite bool
	return &cli.Command{
		Name:      "join",
		Usage:     "join a plan's finished segments into the output without re-encoding, copying the input's audio, subtitles and tags",
		ArgsUsage: "OUTPUT",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "plan", Usage: "the plan written by ugcsr plan", Destination: &planPath},
			&cli.StringFlag{Name: "i", Usage: "read the input from here instead of the plan's path (same content)", Destination: &input},
			&cli.BoolFlag{Name: "y", Usage: "overwrite the output if it exists", DisableDefaultText: true, Destination: &overwrite},
			&cli.StringFlag{Name: "loglevel", Aliases: []string{"v"}, Value: "info", Destination: &loglevel},
		},
		Action: func(c *cli.Context) error {
			o := &upscaleOptions{loglevel: loglevel}
			if err := o.initLog(); err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageError{"join: name one output"}
			}
			plan, cfg, err := segmentJob(planPath, input, o.log)
			if err != nil {
				return err
			}
			cfg.Output.Output, cfg.Output.Overwrite = c.Args().First(), overwrite
			res, err := pipeline.Join(c.Context, cfg, plan, plan.SegmentDir(planPath))
			if err != nil {
				return o.ffLog.annotate(err)
			}
			o.log.infof("wrote %s: %d frames from %d segments", cfg.Output.Output, res.Frames, len(plan.Segments))
			return nil
		},
	}
}

// k8sName makes a Job name (a DNS label) from the input's name and the plan's settings hash.
func k8sName(plan *segment.Plan) string {
	base := strings.ToLower(strings.TrimSuffix(filepath.Base(plan.Input), filepath.Ext(plan.Input)))
	var b strings.Builder
	for _, r := range base {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim("ugcsr-"+name, "-") + "-" + plan.SettingsSHA256[:8]
}
