package backends

import (
	"fmt"
	"strings"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion"
)

// DiffusionPrefix marks a diffusion bundle directory in a --model value: diffusion:DIR.
const DiffusionPrefix = "diffusion:"

// openDiffusion handles diffusion:DIR, a SeeSR+SAM2 bundle (see package sr/diffusion).
func openDiffusion(model string, o Options) (sr.Backend, bool, error) {
	dir, ok := strings.CutPrefix(strings.TrimSpace(model), DiffusionPrefix)
	if !ok {
		return nil, false, nil
	}
	if dir == "" {
		return nil, true, fmt.Errorf("diffusion: --model %s needs a bundle directory (%sDIR)", model, DiffusionPrefix)
	}
	b, err := diffusion.Open(dir, DiffusionConfig(o))
	if err != nil {
		return nil, true, err
	}
	return b, true, nil
}

// DiffusionConfig maps Options onto the diffusion runtime's configuration (also for
// diffusion.Bench). ReuseTiles belongs to the pipeline's tile-reuse wrapper and is not read here.
func DiffusionConfig(o Options) diffusion.Config {
	return diffusion.Config{
		Device:     o.Device,
		ORTLib:     o.ORTLib,
		CacheDir:   o.CacheDir,
		Threads:    o.Threads,
		Preset:     diffusion.Preset(o.Preset),
		Steps:      o.Steps,
		Guidance:   o.Guidance,
		Sampler:    o.Sampler,
		StartPoint: o.StartPoint,
		Seed:       o.Seed,
		Prompt:     o.Prompt,
		ColorFix:   o.ColorFix,
		Noise:      o.Noise,
		Segments:   o.Segments,
		SAMRefresh: o.SAMRefresh,
		Logf:       o.Logf,
	}
}
