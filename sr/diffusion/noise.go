package diffusion

import (
	"fmt"
	"math/rand/v2"
)

// NoiseMode chooses what the initial and per-step noise of a frame is seeded from.
type NoiseMode string

// Noise modes.
const (
	// NoisePerFrame seeds every frame from (Seed, frame index): reproducible, independent per frame.
	NoisePerFrame NoiseMode = "per-frame"
	// NoisePerScene seeds every frame from (Seed, scene number): all frames of a scene share the
	// same initial and per-step noise, which reduces flicker.
	NoisePerScene NoiseMode = "per-scene"
)

func parseNoise(s string) (NoiseMode, error) {
	switch NoiseMode(s) {
	case "", NoisePerFrame:
		return NoisePerFrame, nil
	case NoisePerScene:
		return NoisePerScene, nil
	}
	return "", fmt.Errorf("diffusion: unknown noise mode %q (want per-frame or per-scene)", s)
}

// noiseStream derives the PCG stream of a frame from the seed and the frame's index or scene.
// Index and scene streams never coincide (the top bit tells them apart).
func noiseStream(seed int64, mode NoiseMode, index, scene int64) *rand.Rand {
	key := uint64(index) &^ (1 << 63)
	if mode == NoisePerScene {
		key = uint64(scene) | 1<<63
	}
	return rand.New(rand.NewPCG(uint64(seed), splitmix(key)))
}

// splitmix scrambles k so that neighbouring keys give unrelated PCG streams.
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
