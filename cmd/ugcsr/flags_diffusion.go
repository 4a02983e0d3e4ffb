package main

import (
	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/sr/diffusion"
)

// diffusionFlags binds the options of --model diffusion:DIR straight into diffusion.Options (see
// sr/diffusion for the method); typed values are validated by diffusion.Options.Init.
func diffusionFlags(o *diffusion.Options) []cli.Flag {
	cat := "diffusion (--model diffusion:DIR)"
	return []cli.Flag{
		&cli.IntFlag{Name: "steps", Category: cat, Usage: "sampler steps", DefaultText: "50", Destination: &o.Steps},
		&cli.StringFlag{Name: "track", Category: cat, Usage: "preset of a published track: wild (guidance 8.5, restoration) or synthetic (guidance 0.9 = CFG off, x4); sets guidance and added prompt (-preset is the encoder's)", DefaultText: "wild at -s 1, synthetic at other scales", Destination: (*string)(&o.Preset)},
		&cli.Float64Flag{Name: "guidance", Category: cat, Usage: "classifier-free guidance scale; <= 1 turns it off", DefaultText: "the preset's", Destination: &o.Guidance},
		&cli.StringFlag{Name: "sampler", Category: cat, Usage: "ddpm (the method's, ancestral) or ddim (deterministic)", DefaultText: "ddpm", Destination: (*string)(&o.Sampler)},
		&cli.StringFlag{Name: "start", Category: cat, Usage: "start point: noise (the published runs') or lr (encoded input plus noise; needs a VAE encoder)", DefaultText: "noise", Destination: (*string)(&o.StartPoint)},
		&cli.Int64Flag{Name: "seed", Category: cat, Usage: "noise seed; the same seed gives the same output", Destination: &o.Seed},
		&cli.StringFlag{Name: "prompt", Category: cat, Usage: "user prompt (needs a bundle with a text encoder)", Destination: &o.Prompt},
		&cli.StringFlag{Name: "color-fix", Category: cat, Usage: "adain, wavelet or none", DefaultText: "adain", Destination: (*string)(&o.ColorFix)},
		&cli.StringFlag{Name: "noise", Category: cat, Usage: "per-frame or per-scene (same noise for every frame of a scene)", DefaultText: "per-frame", Destination: (*string)(&o.Noise)},
	}
}
