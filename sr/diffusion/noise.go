package diffusion

import (
	"fmt"
	"math/rand/v2"

	"github.com/ugcsr/ugcsr/frame"
)

// NoiseMode says what a frame's noise is seeded from (--noise).
type NoiseMode string

// Noise modes.
const (
	// NoisePerFrame seeds each frame's noise from (seed, frame index): reproducible, independent from
	// frame to frame. It is the default.
	NoisePerFrame NoiseMode = "per-frame"
	// NoisePerScene seeds each frame's noise from (seed, scene number): every frame of a scene draws
	// the same initial noise and the same per-step noise, which keeps the sampler's random part from
	// changing between frames of a shot (less flicker); a cut starts new noise.
	NoisePerScene NoiseMode = "per-scene"
)

// ParseNoiseMode parses a --noise value; "" is NoisePerFrame.
func ParseNoiseMode(s string) (NoiseMode, error) {
	switch m := NoiseMode(s); m {
	case "":
		return NoisePerFrame, nil
	case NoisePerFrame, NoisePerScene:
		return m, nil
	}
	return "", fmt.Errorf("diffusion: unknown noise mode %q (want %s or %s)", s, NoisePerFrame, NoisePerScene)
}

// NoiseSeed returns the 64-bit seed of f's noise: derived from (seed, f.Scene) for NoisePerScene
// and from (seed, f.Index) otherwise. Index and scene keys never collide (the top bit tells them
// apart), neighbouring keys give unrelated seeds, and equal inputs give equal seeds on every
// machine.
//
// Same noise per scene: the sampler draws all of a frame's random numbers (the initial latent,
// then each step's noise but the last's, in that order) from one generator seeded only by
// NoiseSeed, so every frame of a scene gets the same initial and per-step noise, provided the
// frames have the same size (which they do within a stream). NewNoise returns that generator.
func NoiseSeed(mode NoiseMode, seed int64, f *frame.Frame) uint64 {
	key := uint64(f.Index) &^ (1 << 63)
	if mode == NoisePerScene {
		key = uint64(f.Scene) | 1<<63
	}
	return splitmix(splitmix(uint64(seed)) ^ key)
}

// noiseStream is the PCG stream constant NewNoise uses (any fixed odd value).
const noiseStream = 0x6a09e667f3bcc909

// NewNoise returns the generator of f's noise: PCG seeded with NoiseSeed(mode, seed, f).
func NewNoise(mode NoiseMode, seed int64, f *frame.Frame) *rand.Rand {
	return rand.New(rand.NewPCG(NoiseSeed(mode, seed, f), noiseStream))
}

// splitmix is SplitMix64's finaliser: a bijection that scrambles neighbouring keys.
func splitmix(k uint64) uint64 {
	k += 0x9e3779b97f4a7c15
	k = (k ^ k>>30) * 0xbf58476d1ce4e5b9
	k = (k ^ k>>27) * 0x94d049bb133111eb
	return k ^ k>>31
}

// fillNormal fills p with standard normal samples from r.
func fillNormal(r *rand.Rand, p []float32) {
	for i := range p {
		p[i] = float32(r.NormFloat64())
	}
}
