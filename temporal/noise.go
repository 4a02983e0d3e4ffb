package temporal

import (
	"fmt"
	"math/rand/v2"

	"github.com/ugcsr/ugcsr/frame"
)

// Noise modes (--noise).
const (
	// NoisePerFrame seeds each frame's noise from (seed, frame index): reproducible, independent from
	// frame to frame. It is the default.
	NoisePerFrame = "per-frame"
	// NoisePerScene seeds each frame's noise from (seed, scene number): every frame of a scene draws
	// the same initial noise and the same per-step noise, which keeps the sampler's random part from
	// changing between frames of a shot (less flicker); a cut starts new noise.
	NoisePerScene = "per-scene"
)

// ParseNoise validates a --noise value; "" means NoisePerFrame.
func ParseNoise(s string) (string, error) {
	switch s {
	case "", NoisePerFrame:
		return NoisePerFrame, nil
	case NoisePerScene:
		return NoisePerScene, nil
	}
	return "", fmt.Errorf("%w: unknown noise mode %q (want %s or %s)", ErrConfig, s, NoisePerFrame, NoisePerScene)
}

// NoiseSeed returns the 64-bit seed of f's noise: derived from (seed, f.Scene) for NoisePerScene
// and from (seed, f.Index) otherwise (validate modes with ParseNoise first; unknown ones act as
// NoisePerFrame). Index and scene keys never collide (the top bit tells them apart), neighbouring
// keys give unrelated seeds, and equal inputs give equal seeds on every machine.
//
// Same noise per scene: a sampler that draws all of a frame's random numbers (the initial latent,
// then each step's noise, in a fixed order) from one generator seeded only by NoiseSeed gives every
// frame of a scene the same initial and per-step noise, provided the frames have the same size
// (which they do within a stream). NewNoise returns such a generator.
func NoiseSeed(mode string, seed int64, f *frame.Frame) uint64 {
	key := uint64(f.Index) &^ (1 << 63)
	if mode == NoisePerScene {
		key = uint64(f.Scene) | 1<<63
	}
	return splitmix(splitmix(uint64(seed)) ^ key)
}

// noiseStream is the PCG stream constant NewNoise uses (any fixed odd value).
const noiseStream = 0x6a09e667f3bcc909

// NewNoise returns the generator of f's noise: PCG seeded with NoiseSeed(mode, seed, f).
func NewNoise(mode string, seed int64, f *frame.Frame) *rand.Rand {
	return rand.New(rand.NewPCG(NoiseSeed(mode, seed, f), noiseStream))
}

// splitmix is SplitMix64's finaliser: a bijection that scrambles neighbouring keys.
func splitmix(k uint64) uint64 {
	k += 0x9e3779b97f4a7c15
	k = (k ^ k>>30) * 0xbf58476d1ce4e5b9
	k = (k ^ k>>27) * 0x94d049bb133111eb
	return k ^ k>>31
}
