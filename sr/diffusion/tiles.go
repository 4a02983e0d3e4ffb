package diffusion

import "math"

// Latent tiling of the seed method (SeeSR's pipeline, exact).
const (
	latentTile    = 96
	latentOverlap = 32
)

// tile is one denoiser window over the latent, in latent pixels.
type tile struct {
	x, y, size int
}

// tileGrid returns the denoiser windows for an h x w latent. An area up to latentTile^2 is one
// window covering everything (size 0 marks it: the window is the whole, possibly non-square,
// latent). Larger latents get square windows of s = min(96, h, w) at stride s - 32 (64 for full
// tiles), row-major, the last column and row snapped to the right and bottom edges.
func tileGrid(h, w int) []tile {
	if h*w <= latentTile*latentTile {
		return []tile{{0, 0, 0}}
	}
	s := min(latentTile, h, w)
	xs, ys := tileStarts(w, s), tileStarts(h, s)
	out := make([]tile, 0, len(xs)*len(ys))
	for _, y := range ys {
		for _, x := range xs {
			out = append(out, tile{x, y, s})
		}
	}
	return out
}

// tileStarts returns the window starts along one axis of length n: i*(s-overlap) for the first
// windows, n-s for the last. The count is the smallest k with (k-1)*(s-overlap) + s >= n, as the
// published loop computes it.
func tileStarts(n, s int) []int {
	stride := s - latentOverlap
	if stride < 1 {
		stride = 1
	}
	k := 1
	for (k-1)*stride+s < n {
		k++
	}
	starts := make([]int, k)
	for i := range starts {
		starts[i] = i * stride
	}
	starts[k-1] = n - s
	return starts
}

// gaussianWeights returns the s x s blending weights of a tile, row-major:
// w(y,x) = exp(-(x-(s-1)/2)^2/s^2/0.02) * exp(-(y-s/2)^2/s^2/0.02). The y midpoint s/2 (not
// (s-1)/2) is the published code's. Its constant factor 1/(2 pi 0.01) cancels in the blend and is
// left out.
func gaussianWeights(s int) []float32 {
	const twoVar = 2 * 0.01
	fs := float64(s)
	wx := make([]float64, s)
	wy := make([]float64, s)
	for i := range s {
		dx := float64(i) - (fs-1)/2
		wx[i] = math.Exp(-dx * dx / (fs * fs) / twoVar)
		dy := float64(i) - fs/2
		wy[i] = math.Exp(-dy * dy / (fs * fs) / twoVar)
	}
	w := make([]float32, s*s)
	for y := range s {
		for x := range s {
			w[y*s+x] = float32(wy[y] * wx[x])
		}
	}
	return w
}

// blendPlan holds what stitching needs for one latent geometry: the tiles, the tile weights and the
// reciprocal of the summed weights at every latent pixel.
type blendPlan struct {
	h, w   int
	tiles  []tile
	weight []float32 // s*s, nil when untiled
	invSum []float32 // h*w, nil when untiled
}

func newBlendPlan(h, w int) *blendPlan {
	p := &blendPlan{h: h, w: w, tiles: tileGrid(h, w)}
	if p.tiles[0].size == 0 {
		return p
	}
	s := p.tiles[0].size
	p.weight = gaussianWeights(s)
	sum := make([]float64, h*w)
	for _, t := range p.tiles {
		for y := range s {
			row := sum[(t.y+y)*w+t.x : (t.y+y)*w+t.x+s]
			wr := p.weight[y*s : (y+1)*s]
			for x := range row {
				row[x] += float64(wr[x])
			}
		}
	}
	p.invSum = make([]float32, h*w)
	for i, v := range sum {
		p.invSum[i] = float32(1 / v)
	}
	return p
}

// tiled reports whether the plan splits the latent.
func (p *blendPlan) tiled() bool { return p.weight != nil }
