package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// benchCommand measures; it asserts nothing. Its numbers are the README's.
func benchCommand() *cli.Command {
	var input, dur string
	return &cli.Command{
		Name:  "bench",
		Usage: "measure throughput on this machine (prints a markdown table)",
		Subcommands: []*cli.Command{{
			Name:  "pipeline",
			Usage: "decode only, decode+encode, and Lanczos x2 job vs ffmpeg's own, on one clip",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "i", Value: "../shared/clips/01_dog.mp4", Destination: &input},
				&cli.StringFlag{Name: "t", Usage: "limit the clip to this duration", Destination: &dur},
			},
			Action: func(c *cli.Context) error { return benchPipeline(c.Context, os.Stdout, input, dur) },
		}, benchRealESRGANCommand(), benchDiffusionCommand()},
	}
}

func benchPipeline(ctx context.Context, w io.Writer, input, dur string) error {
	var limit time.Duration
	if dur != "" {
		var err error
		if limit, err = parseTime(dur); err != nil {
			return usageError{"-t: " + err.Error()}
		}
	}
	tmp, err := os.MkdirTemp("", "ugcsr-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	in := decode.Options{Input: input, Duration: limit}

	// 1. Decode only (with the conversion to float RGB the backends take).
	t0 := time.Now()
	d, err := decode.Open(ctx, in)
	if err != nil {
		return err
	}
	info := d.Info()
	frames := 0
	for {
		f, err := d.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.Close()
			return err
		}
		f.Release()
		frames++
	}
	d.Close()
	decodeTime := time.Since(t0)

	run := func(name string, cfg pipeline.Config) (time.Duration, error) {
		cfg.Input = in
		cfg.Output = encode.Options{Output: filepath.Join(tmp, name+".mp4"), Overwrite: true}
		t0 := time.Now()
		_, err := pipeline.Run(ctx, cfg)
		return time.Since(t0), err
	}
	// 2. Decode + encode at the input size: no upscaling, the pipeline's own overhead included.
	encTime, err := run("copy", pipeline.Config{Backend: identity{}, Scale: 1, Workers: 1})
	if err != nil {
		return err
	}
	// 3. The whole job: Lanczos x2, libx264 CRF 18 preset medium.
	jobTime, err := run("lanczos", pipeline.Config{Model: "lanczos", Scale: 2})
	if err != nil {
		return err
	}
	// 4. ffmpeg's own Lanczos x2 with the same encoder settings, audio copied as ugcsr does.
	args := []string{"-v", "error", "-nostdin", "-y", "-i", input}
	if limit > 0 {
		args = append(args, "-t", fmt.Sprint(limit.Seconds()))
	}
	args = append(args, "-vf", "scale=iw*2:ih*2:flags=lanczos", "-c:v", "libx264", "-crf", "18", "-preset", "medium",
		"-c:a", "copy", filepath.Join(tmp, "ffmpeg.mp4"))
	t0 = time.Now()
	if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ffmpeg: %v: %s", err, strings.TrimSpace(string(out)))
	}
	ffTime := time.Since(t0)

	fps := func(d time.Duration) float64 { return float64(frames) / d.Seconds() }
	fmt.Fprintf(w, "clip: %s, %d frames %dx%d; %d cores (%s)\n\n", input, frames, info.Width, info.Height, runtime.NumCPU(), cpuName())
	fmt.Fprintf(w, "| stage | time (s) | fps |\n|---|---:|---:|\n")
	fmt.Fprintf(w, "| decode only (to float RGB) | %.2f | %.1f |\n", decodeTime.Seconds(), fps(decodeTime))
	fmt.Fprintf(w, "| decode + encode (x1, libx264 crf 18 medium) | %.2f | %.1f |\n", encTime.Seconds(), fps(encTime))
	fmt.Fprintf(w, "| ugcsr Lanczos x2 (libx264 crf 18 medium) | %.2f | %.1f |\n", jobTime.Seconds(), fps(jobTime))
	fmt.Fprintf(w, "| ffmpeg scale=lanczos x2 (same encoder) | %.2f | %.1f |\n", ffTime.Seconds(), fps(ffTime))
	fmt.Fprintf(w, "\nugcsr / ffmpeg time: %.2f (target <= 1.20)\n", jobTime.Seconds()/ffTime.Seconds())
	return nil
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
	var tile, runs int
	var guidance float64
	return &cli.Command{
		Name:  "diffusion",
		Usage: "time one denoiser step on one tile of a diffusion bundle and count its FLOPs",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "diffusion:DIR", Required: true, Destination: &model},
			&cli.StringFlag{Name: "device", Value: "auto", Destination: &device},
			&cli.IntFlag{Name: "tile", Value: 64, Usage: "latent tile side (64 = a 512x512 frame, 96 = the method's window)", Destination: &tile},
			&cli.IntFlag{Name: "runs", Value: 5, Destination: &runs},
			&cli.Float64Flag{Name: "guidance", Usage: "guidance scale (> 1: batch 2)", DefaultText: "8.5 (the wild preset's)", Destination: &guidance},
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
			o := backends.Options{Runtime: ort.Runtime{Device: dev}, Diffusion: diffusion.Options{Guidance: guidance},
				Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "ugcsr: "+f+"\n", a...) }}
			if err := o.Init(); err != nil {
				return usageError{err.Error()}
			}
			r, err := diffusion.Bench(c.Context, dir, backends.DiffusionConfig(o), diffusion.BenchOptions{Tile: tile, Runs: runs, Frame: image.Pt(1280, 720)})
			if err != nil {
				return err
			}
			fmt.Printf("machine: %d cores (%s)\n%s\n", runtime.NumCPU(), cpuName(), r)
			return nil
		},
	}
}
