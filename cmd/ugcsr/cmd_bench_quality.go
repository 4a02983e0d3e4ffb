package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/quality"
	"github.com/ugcsr/ugcsr/sr/backends"
)

// defaultQualitySettings are README's rows after Lanczos: the default model, alone and stabilized;
// strength 0.5 blended in both domains; the recommended 0.3, alone and stabilized.
const defaultQualitySettings = "1,1+stabilize,0.5,0.5-linear,0.3,0.3+stabilize"

// benchQualityCommand makes README's quality table: each clip degraded as uploads are (area /2,
// libx264 CRF 32), upscaled x2 back by Lanczos and by the model at each setting, measured against
// the original frames.
func benchQualityCommand() *cli.Command {
	var clips, settings, model string
	var start, frames int
	return &cli.Command{
		Name:  "quality",
		Usage: "PSNR, SSIM, tPSNR and sharpness of Lanczos and of the model at strengths and stabilized, on degraded clips",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "clips", Value: "../shared/clips/01_dog.mp4,../shared/clips/02_cups.mp4,../shared/clips/03_blocks.mp4", Usage: "comma-separated original clips", Destination: &clips},
			&cli.StringFlag{Name: "settings", Value: defaultQualitySettings, Usage: "comma-separated rows: S[-linear][+stabilize[@THRESH]] (S the strength; Lanczos always comes first)", Destination: &settings},
			&cli.StringFlag{Name: "model", Value: backends.Default, Destination: &model},
			&cli.IntFlag{Name: "start", Value: 60, Usage: "first frame measured", Destination: &start},
			&cli.IntFlag{Name: "frames", Value: 24, Usage: "frames measured per clip", Destination: &frames},
		},
		Action: func(c *cli.Context) error {
			o := quality.BenchOptions{Clips: strings.Split(clips, ","), Start: start, Frames: frames, Model: model,
				Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, "ugcsr: "+f+"\n", a...) }}
			for _, s := range strings.Split(settings, ",") {
				st, err := quality.ParseSetting(strings.TrimSpace(s))
				if err != nil {
					return usageError{"--settings: " + err.Error()}
				}
				o.Settings = append(o.Settings, st)
			}
			return benchQuality(c.Context, os.Stdout, o)
		},
	}
}

// benchQuality prints quality.Bench's rows as a markdown table.
func benchQuality(ctx context.Context, w io.Writer, o quality.BenchOptions) error {
	r, err := quality.Bench(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "degraded: ffmpeg %s; frames %d-%d of each clip, %v -> %v; model %s (%.0f s for all frames, %d cores, %s)\n\n",
		strings.Join(quality.Degrade, " "), o.Start, o.Start+r.Frames-1, r.In, r.Out, o.Model, r.ModelTime.Seconds(), runtime.NumCPU(), cpuName())
	fmt.Fprintf(w, "| clip | setting | PSNR dB | SSIM | tPSNR dB | sharpness | PSNR vs Lanczos | SSIM vs Lanczos | tPSNR vs Lanczos | blocks held |\n")
	fmt.Fprintf(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		held := "-"
		if row.Setting.Stabilize {
			held = fmt.Sprintf("%.0f%%", 100*row.Held)
		}
		fmt.Fprintf(w, "| %s | %s | %.2f | %.4f | %.2f | %.0f%% | %+.2f | %+.4f | %+.2f | %s |\n", row.Clip, row.Setting,
			row.PSNR, row.SSIM, row.TPSNR, 100*row.Sharpness, row.PSNR-row.LanczosPSNR, row.SSIM-row.LanczosSSIM, row.TPSNR-row.LanczosTPSNR, held)
	}
	return nil
}
