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
		return nil, true, fmt.Errorf("diffusion: model %q names no bundle directory (%sDIR)", model, DiffusionPrefix)
	}
	b, err := diffusion.Open(dir, DiffusionConfig(o))
	if err != nil {
		return nil, true, err
	}
	return b, true, nil
}

// DiffusionConfig is the diffusion runtime's configuration within Options (also for
// diffusion.Bench).
func DiffusionConfig(o Options) diffusion.Config {
	return diffusion.Config{Options: o.Diffusion, Runtime: o.Runtime, Logf: o.Logf}
}
