package main

import (
	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/sr/backends"
)

// diffusionFlags are the options of --model diffusion:DIR (see sr/diffusion for the method).
type diffusionFlags struct {
	steps                  int
	guidance               float64
	preset, sampler, start string
	prompt, colorFix       string
	noise                  string
	seed                   int64
	samRefresh             int
	reuseTiles             float64
}

func (d *diffusionFlags) flags() []cli.Flag {
	cat := "diffusion (--model diffusion:DIR)"
	return []cli.Flag{
		&cli.IntFlag{Name: "steps", Category: cat, Usage: "sampler steps", DefaultText: "50", Destination: &d.steps},
		&cli.StringFlag{Name: "track", Category: cat, Usage: "preset of a published track: wild (guidance 8.5, restoration) or synthetic (guidance 0.9 = CFG off, x4); sets guidance and added prompt (-preset is the encoder's)", DefaultText: "wild at -s 1, synthetic at other scales", Destination: &d.preset},
		&cli.Float64Flag{Name: "guidance", Category: cat, Usage: "classifier-free guidance scale; <= 1 turns it off", DefaultText: "the preset's", Destination: &d.guidance},
		&cli.StringFlag{Name: "sampler", Category: cat, Usage: "ddpm (the method's, ancestral) or ddim (deterministic)", DefaultText: "ddpm", Destination: &d.sampler},
		&cli.StringFlag{Name: "start", Category: cat, Usage: "start point: noise (the published runs') or lr (encoded input plus noise; needs a VAE encoder)", DefaultText: "noise", Destination: &d.start},
		&cli.Int64Flag{Name: "seed", Category: cat, Usage: "noise seed; the same seed gives the same output", Destination: &d.seed},
		&cli.StringFlag{Name: "prompt", Category: cat, Usage: "user prompt (needs a bundle with a text encoder)", Destination: &d.prompt},
		&cli.StringFlag{Name: "color-fix", Category: cat, Usage: "adain, wavelet or none", DefaultText: "adain", Destination: &d.colorFix},
		&cli.StringFlag{Name: "noise", Category: cat, Usage: "per-frame or per-scene (same noise for every frame of a scene)", DefaultText: "per-frame", Destination: &d.noise},
		&cli.IntFlag{Name: "sam-refresh", Category: cat, Usage: "recompute the SAM2 embedding at least every N frames of a scene", DefaultText: "only at scene cuts", Destination: &d.samRefresh},
		&cli.Float64Flag{Name: "reuse-tiles", Usage: "reuse the output of input tiles whose blocks changed by less than this mean absolute difference (0..1, e.g. 0.02) since their output was computed; not for diffusion", DefaultText: "off", Destination: &d.reuseTiles},
	}
}

func (d *diffusionFlags) apply(o *backends.Options) {
	o.Preset, o.Steps, o.Guidance, o.Sampler, o.StartPoint = d.preset, d.steps, d.guidance, d.sampler, d.start
	o.Seed, o.Prompt, o.ColorFix, o.Noise = d.seed, d.prompt, d.colorFix, d.noise
	o.SAMRefresh, o.ReuseTiles = d.samRefresh, d.reuseTiles
}
