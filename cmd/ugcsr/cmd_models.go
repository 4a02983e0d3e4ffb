package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
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
