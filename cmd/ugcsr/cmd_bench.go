package main

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// benchCommand measures; it asserts nothing. Its numbers are the README's.
func benchCommand() *cli.Command {
	var input, dur string
	var runs int
	return &cli.Command{
		Name:  "bench",
		Usage: "measure throughput on this machine (prints a markdown table)",
		Subcommands: []*cli.Command{{
			Name:  "pipeline",
			Usage: "decode only, decode+encode, and Lanczos x2 job vs ffmpeg's own, on one clip",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "i", Value: "../shared/clips/01_dog.mp4", Destination: &input},
				&cli.StringFlag{Name: "t", Usage: "limit the clip to this duration", Destination: &dur},
				&cli.IntFlag{Name: "runs", Value: 5, Usage: "runs of the Lanczos job and of ffmpeg's, interleaved", Destination: &runs},
			},
			Action: func(c *cli.Context) error { return benchPipeline(c.Context, os.Stdout, input, dur, runs) },
		}, benchRealESRGANCommand(), benchDiffusionCommand(), benchQualityCommand()},
	}
}

// benchPipeline prints pipeline.Bench's times as a markdown table.
func benchPipeline(ctx context.Context, w io.Writer, input, dur string, runs int) error {
	var limit time.Duration
	if dur != "" {
		var err error
		if limit, err = parseTime(dur); err != nil {
			return usageError{"-t: " + err.Error()}
		}
	}
	r, err := pipeline.Bench(ctx, pipeline.BenchOptions{Input: input, Duration: limit, Runs: runs})
	if err != nil {
		return err
	}
	fps := func(d time.Duration) float64 { return float64(r.Frames) / d.Seconds() }
	fmt.Fprintf(w, "clip: %s, %d frames %dx%d; %d cores (%s)\n\n", input, r.Frames, r.Info.Video.Width, r.Info.Video.Height, runtime.NumCPU(), cpuName())
	fmt.Fprintf(w, "| stage | time (s) | fps |\n|---|---:|---:|\n")
	fmt.Fprintf(w, "| decode only (to float RGB) | %.2f | %.1f |\n", r.Decode.Seconds(), fps(r.Decode))
	fmt.Fprintf(w, "| decode + encode (x1, libx264 crf 18 medium) | %.2f | %.1f |\n", r.DecodeEncode.Seconds(), fps(r.DecodeEncode))
	path := "float RGB"
	if r.SourceFormat {
		path = r.Info.Video.PixelFormat + " planes"
	}
	fmt.Fprintf(w, "| ugcsr Lanczos x2 (libx264 crf 18 medium, %s), median of %d | %.2f | %.1f |\n", path, len(r.JobRuns), r.Job.Seconds(), fps(r.Job))
	fmt.Fprintf(w, "| ffmpeg scale=lanczos x2 (same encoder), median of %d | %.2f | %.1f |\n", len(r.FFmpegRuns), r.FFmpeg.Seconds(), fps(r.FFmpeg))
	fmt.Fprintf(w, "\nruns (s), interleaved:\n")
	for i := range r.JobRuns {
		fmt.Fprintf(w, "  %d: ugcsr %.2f  ffmpeg %.2f\n", i+1, r.JobRuns[i].Seconds(), r.FFmpegRuns[i].Seconds())
	}
	fmt.Fprintf(w, "\nugcsr / ffmpeg time (medians): %.3f (target <= 1.10)\n", r.Job.Seconds()/r.FFmpeg.Seconds())
	fmt.Fprintf(w, "ugcsr / ffmpeg CPU time (medians, user+sys): %.2f s / %.2f s = %.3f\n", r.JobCPU.Seconds(), r.FFmpegCPU.Seconds(), r.JobCPU.Seconds()/r.FFmpegCPU.Seconds())
	return nil
}

func cpuName() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			if i := strings.IndexByte(line, ':'); i >= 0 {
				return strings.TrimSpace(line[i+1:])
			}
		}
	}
	return "unknown CPU"
}

// benchDiffusionCommand times the denoiser of a bundle: per step per tile, with its FLOP count.
func benchDiffusionCommand() *cli.Command {
	var model, device string
	var tiles cli.IntSlice
	var steps int
	var guidance float64
	var noMatMul, frameGraphs, lowMem bool
	var memGB float64
	return &cli.Command{
		Name:  "diffusion",
		Usage: "time denoiser steps on latent tiles of a diffusion bundle, count their FLOPs and memory",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "diffusion:DIR", Required: true, Destination: &model},
			&cli.StringFlag{Name: "device", Value: "auto", Destination: &device},
			&cli.IntSliceFlag{Name: "tile", Value: cli.NewIntSlice(64, 90), Usage: "latent tile sides, in order (64 = a 512x512 frame; 90 = the windows of a 1280x720 frame at scale 1)", Destination: &tiles},
			&cli.IntFlag{Name: "steps", Aliases: []string{"runs"}, Value: 5, Usage: "timed denoiser steps per tile, after one warm-up step", Destination: &steps},
			&cli.Float64Flag{Name: "guidance", Usage: "guidance scale (above 1: classifier-free guidance, batch 2; a value from 0.1 to 1, e.g. 1: batch 1)", DefaultText: "8.5 (the wild preset's)", Destination: &guidance},
			&cli.Float64Flag{Name: "mem-limit", Usage: "GB a tile may need; larger tiles are reported, not run", DefaultText: "what the system has available", Destination: &memGB},
			&cli.BoolFlag{Name: "frame-graphs", Usage: "also time the SAM encoder and the VAE decoder once, for a 1280x720 frame", Destination: &frameGraphs},
			&cli.BoolFlag{Name: "low-memory", Usage: "no ONNX Runtime memory arena or weight prepacking (one copy of the weights)", Destination: &lowMem},
			&cli.BoolFlag{Name: "no-matmul", Usage: "skip measuring the CPU's MatMul rate", Destination: &noMatMul},
		},
		Action: func(c *cli.Context) error {
			dir, ok := strings.CutPrefix(model, backends.DiffusionPrefix)
			if !ok {
				return usageError{"bench diffusion needs --model diffusion:DIR"}
			}
			dev, err := ort.ParseDevice(device)
			if err != nil {
				return usageError{"--device: " + err.Error()}
			}
			for _, t := range tiles.Value() {
				if t < 8 || t > 256 {
					return usageError{fmt.Sprintf("--tile %d: want a latent side from 8 to 256", t)}
				}
			}
			o := backends.Options{Runtime: ort.Runtime{Device: dev}, Diffusion: diffusion.Options{Guidance: guidance},
				Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "ugcsr: "+f+"\n", a...) }}
			if err := o.Init(); err != nil {
				return usageError{err.Error()}
			}
			t0 := time.Now()
			r, err := diffusion.Bench(c.Context, dir, backends.DiffusionConfig(o), diffusion.BenchOptions{
				Tiles: tiles.Value(), Runs: steps, Frame: image.Pt(1280, 720), MatMul: !noMatMul, MemLimit: int64(memGB * 1e9), FrameGraphs: frameGraphs, LowMemory: lowMem})
			if err != nil {
				return err
			}
			fmt.Printf("machine: %d cores (%s)\n%s\n(whole bench %.0f s; the 64 tile is a 512x512 frame; frame figures are a 1280x720 frame at scale 1)\n",
				runtime.NumCPU(), cpuName(), r, time.Since(t0).Seconds())
			return nil
		},
	}
}
