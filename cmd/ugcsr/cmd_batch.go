package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/pipeline"
)

// videoExts are the file name extensions ugcsr batch takes for clips.
var videoExts = map[string]bool{".mp4": true, ".mov": true, ".m4v": true, ".mkv": true, ".webm": true, ".avi": true,
	".ts": true, ".mts": true, ".m2ts": true, ".3gp": true, ".flv": true, ".mxf": true, ".nut": true, ".y4m": true}

func batchCommand(stop <-chan struct{}) *cli.Command {
	up := &upscaleOptions{}
	var outDir string
	var plans bool
	return &cli.Command{
		Name:      "batch",
		Usage:     "upscale every clip of a directory into another: finished outputs are skipped, a failed clip does not stop the others",
		UsageText: "ugcsr batch -i DIR -o OUTDIR [job options] [--plans]",
		Flags: append(up.flags(),
			&cli.StringFlag{Name: "o", Usage: "the output directory (outputs keep the clips' names)", Destination: &outDir},
			&cli.BoolFlag{Name: "plans", Usage: "write one segment plan per clip (OUTDIR/NAME.plan.json, for ugcsr run-segment and join on an engine) instead of upscaling", Destination: &plans},
		),
		Action: func(c *cli.Context) error {
			if err := up.initLog(); err != nil {
				return err
			}
			inDir := up.input
			if inDir == "" || outDir == "" || c.NArg() > 0 {
				return usageError{"batch: give -i DIR and -o OUTDIR"}
			}
			clips, err := listClips(inDir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return err
			}
			if same, _ := filepath.Abs(inDir); same == mustAbs(outDir) {
				return usageError{"batch: the output directory is the input directory"}
			}
			var done, skipped int
			var failed []string
			for _, clip := range clips {
				if stopped(stop) {
					break
				}
				name := filepath.Base(clip)
				out := filepath.Join(outDir, name)
				if plans {
					out = filepath.Join(outDir, strings.TrimSuffix(name, filepath.Ext(name))+".plan.json")
				}
				if _, err := os.Stat(out); err == nil && !up.overwrite {
					up.log.infof("batch: %s exists: skipped", out)
					skipped++
					continue
				}
				o := *up
				o.input, o.output = clip, out
				if plans {
					o.output = ""
				}
				err := o.build()
				if err == nil && plans {
					err = writeClipPlan(c, &o, out)
				} else if err == nil {
					err = batchRun(c, &o, stop)
				}
				switch {
				case errors.Is(err, errInterrupted):
					up.log.errorf("batch: stopped at %s", name)
				case err != nil:
					up.log.errorf("batch: %s: %s", name, oneLine(err.Error()))
					failed = append(failed, name+": "+oneLine(err.Error()))
				default:
					done++
				}
			}
			up.log.infof("batch: %d done, %d skipped, %d failed of %d clips", done, skipped, len(failed), len(clips))
			if stopped(stop) {
				return errInterrupted
			}
			if len(failed) > 0 {
				for _, f := range failed {
					fmt.Fprintln(os.Stderr, "  failed: "+f)
				}
				return fmt.Errorf("batch: %d of %d clips failed", len(failed), len(clips))
			}
			return nil
		},
	}
}

func mustAbs(p string) string {
	a, _ := filepath.Abs(p)
	return a
}

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// listClips returns the video files of dir, sorted.
func listClips(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("batch: %w", err)
	}
	var clips []string
	for _, e := range entries {
		if e.Type().IsRegular() && videoExts[strings.ToLower(filepath.Ext(e.Name()))] {
			clips = append(clips, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(clips)
	if len(clips) == 0 {
		return nil, fmt.Errorf("batch: no video files in %s", dir)
	}
	return clips, nil
}

// batchRun upscales one clip as the main command does.
func batchRun(c *cli.Context, o *upscaleOptions, stop <-chan struct{}) error {
	cfg := o.cfg
	cfg.Input.Stop = stop
	start := time.Now()
	res, err := pipeline.Run(c.Context, cfg)
	if err != nil {
		return o.ffLog.annotate(err)
	}
	if res.Interrupted {
		return errInterrupted
	}
	o.log.infof("batch: wrote %s: %d frames in %.1fs", cfg.Output.Output, res.Frames, time.Since(start).Seconds())
	return nil
}

// writeClipPlan writes one clip's segment plan, as ugcsr plan does, its segments in NAME.segments.
func writeClipPlan(c *cli.Context, o *upscaleOptions, out string) error {
	cfg, err := planConfig(o)
	if err != nil {
		return err
	}
	_, err = writePlan(c, cfg, o, 0, strings.TrimSuffix(filepath.Base(out), ".plan.json")+".segments", out)
	return err
}
