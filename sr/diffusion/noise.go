package diffusion

import "math/rand/v2"

// fillNormal fills p with standard normal samples from r.
func fillNormal(r *rand.Rand, p []float32) {
	for i := range p {
		p[i] = float32(r.NormFloat64())
	}
}
