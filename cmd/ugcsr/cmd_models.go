package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/diffusion/synthetic"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

func modelsCommand() *cli.Command {
	var kind string
	var fp16, text, noEncoder bool
	return &cli.Command{
		Name:  "models",
		Usage: "prepare models: convert the ncnn Real-ESRGAN models, write oracle diffusion bundles",
		Subcommands: []*cli.Command{
			{
				Name:      "convert",
				Usage:     "convert realesrgan-x4fast / realesrgan-x4plus from ncnn to ONNX, fp32, fp16 and (x4fast) int8 (done on first use anyway)",
				ArgsUsage: "[NAME ...]",
				Action: func(c *cli.Context) error {
					names := c.Args().Slice()
					if len(names) == 0 {
						names = []string{realesrgan.X4Fast, realesrgan.X4Plus}
					}
					for _, n := range names {
						precs := []string{realesrgan.PrecisionFP32, realesrgan.PrecisionFP16}
						if n == realesrgan.X4Fast {
							precs = append(precs, realesrgan.PrecisionInt8)
						}
						for _, prec := range precs {
							p, err := realesrgan.Convert(n, prec, appcache.Dir())
							if err != nil {
								return err
							}
							fmt.Println(p)
						}
					}
					return nil
				},
			},
			modelsSyntheticCommand(),
			{
				Name:      "oracle",
				Usage:     "write a tiny diffusion bundle whose right answer is known (use it with --model diffusion:DIR)",
				ArgsUsage: "DIR",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "kind", Value: oracle.Lossless, Usage: "lossless (192-channel latent, returns its input) or linear4 (the real 4-channel latent)", Destination: &kind},
					&cli.BoolFlag{Name: "fp16", Usage: "float16 graph inputs and outputs", Destination: &fp16},
					&cli.BoolFlag{Name: "text", Usage: "add a tokenizer, text encoder and tagger so --prompt works", Destination: &text},
					&cli.BoolFlag{Name: "no-encoder", Usage: "leave out the VAE encoder (start point noise only)", Destination: &noEncoder},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError{"models oracle takes one directory"}
					}
					dir := c.Args().First()
					if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
						return fmt.Errorf("models oracle: %s is not empty", dir)
					}
					if err := oracle.Write(dir, oracle.Options{Kind: kind, FP16: fp16, Text: text, NoEncoder: noEncoder}); err != nil {
						return err
					}
					abs, _ := filepath.Abs(dir)
					fmt.Printf("wrote %s oracle bundle to %s (use --model diffusion:%s)\n", kind, abs, dir)
					return nil
				},
			},
		},
	}
}

// modelsSyntheticCommand writes a bundle with SeeSR's architecture and random weights, and prints
// its parameters and MACs, counted from the written graphs and from the closed forms.
func modelsSyntheticCommand() *cli.Command {
	var reduced, kv bool
	var seed uint64
	var weights, compute string
	return &cli.Command{
		Name:      "synthetic",
		Usage:     "write a diffusion bundle with SeeSR's architecture and random weights (about 3.2 GB at full size)",
		ArgsUsage: "DIR",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "reduced", Usage: "every width divided (about 16M denoiser parameters), for tests", Destination: &reduced},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the random weights", Destination: &seed},
			&cli.StringFlag{Name: "weights", Value: "fp16", Usage: "stored parameter type: fp16 or fp32", Destination: &weights},
			&cli.StringFlag{Name: "compute", Value: "fp32", Usage: "type the graphs compute in: fp32 (CPU) or fp16 (GPU)", Destination: &compute},
			&cli.BoolFlag{Name: "kv", Usage: "add the cached SAM K/V variant (sam_kv.onnx, denoiser_kv.onnx)", Destination: &kv},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError{"models synthetic takes one directory"}
			}
			types := map[string]onnx.DType{"fp16": onnx.Float16, "fp32": onnx.Float}
			wt, ok1 := types[weights]
			ct, ok2 := types[compute]
			if !ok1 || !ok2 {
				return usageError{fmt.Sprintf("models synthetic: --weights %q, --compute %q: want fp16 or fp32", weights, compute)}
			}
			dir := c.Args().First()
			if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return fmt.Errorf("models synthetic: %s is not empty", dir)
			}
			cfg := synthetic.Full()
			if reduced {
				cfg = synthetic.Reduced()
			}
			t0 := time.Now()
			if _, err := synthetic.Write(dir, synthetic.Options{Config: cfg, Seed: seed, Weights: wt, Compute: ct, KV: kv}); err != nil {
				os.RemoveAll(dir) // nothing half-written stays behind
				return err
			}
			abs, _ := filepath.Abs(dir)
			fmt.Printf("wrote %s to %s in %.0f s (use --model diffusion:%s)\n", cfg.Name, abs, time.Since(t0).Seconds(), dir)
			return synthetic.PrintCounts(os.Stdout, dir, cfg, kv)
		},
	}
}
