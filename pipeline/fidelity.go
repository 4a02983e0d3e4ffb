package pipeline

import (
	"fmt"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/strength"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
)

// fidelity wraps backend for cfg.Strength (a blend with Lanczos) and cfg.Stabilize (tile reuse's
// second setting), in that order, so that stabilizing sees the blended output.
func fidelity(backend sr.Backend, cfg *Config) (sr.Backend, error) {
	caps := backend.Caps()
	if s := cfg.Strength; s != nil && *s != 1 {
		if caps.Cheap {
			return nil, fmt.Errorf("%w: a strength applies to a learned model, not to %s", strength.ErrConfig, backend.Name())
		}
		var err error
		if backend, err = strength.New(backend, strength.Config{Strength: *s, Linear: cfg.StrengthLinear}); err != nil {
			return nil, err
		}
	}
	if !cfg.Stabilize {
		return backend, nil
	}
	if cfg.ReuseTiles > 0 {
		return nil, fmt.Errorf("%w: stabilizing and reusing tiles are two settings of one mechanism: choose one", tilereuse.ErrConfig)
	}
	if cfg.Workers > 1 {
		cfg.Logf("stabilizing runs one backend worker (asked for %d)", cfg.Workers)
	}
	cfg.Workers = 0
	return tilereuse.New(backend, tilereuse.Config{Stabilize: true, Logf: cfg.Logf})
}
