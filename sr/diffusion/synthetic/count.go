package synthetic

// Cost is a parameter count and the multiply-accumulates of one run.
type Cost struct{ Params, MACs int64 }

// Plus returns the sum of a and b.
func (a Cost) Plus(b ...Cost) Cost {
	for _, c := range b {
		a.Params += c.Params
		a.MACs += c.MACs
	}
	return a
}

// The closed forms below are written from the published configurations (diffusers' ResnetBlock2D,
// Transformer2DModel with linear projections, Attention, GEGLU, ControlNetModel, AutoencoderKL), not
// from the graphs this package writes: a test compares the two. n is a count of output positions
// (pixels or tokens) times the batch.

func linear(n, in, out int64, bias bool) Cost {
	p := in * out
	if bias {
		p += out
	}
	return Cost{p, n * in * out}
}

func conv(n, in, out, k int64) Cost { return Cost{in*out*k*k + out, n * in * out * k * k} }

func norm(c int64) Cost { return Cost{Params: 2 * c} }

// resnet is a ResnetBlock2D on n = B*H*W positions; temb > 0 adds the time projection (B rows).
func resnet(B, n, in, out, temb int64) Cost {
	c := norm(in).Plus(conv(n, in, out, 3), norm(out), conv(n, out, out, 3))
	if temb > 0 {
		c = c.Plus(linear(B, temb, out, true))
	}
	if in != out {
		c = c.Plus(conv(n, in, out, 1))
	}
	return c
}

// attention is diffusers' Attention of N query tokens of width c over M context tokens of width e
// (batch B): q, k, v without bias, the output projection with, and softmax(QK^T)V, which costs
// N*M*c for each product whatever the head count.
func attention(B, N, c, M, e int64) Cost {
	return linear(B*N, c, c, false).Plus(linear(B*M, e, c, false), linear(B*M, e, c, false),
		linear(B*N, c, c, true), Cost{MACs: 2 * B * N * M * c})
}

// transformer is a Transformer2DModel with linear projections and one BasicTransformerBlock: self
// attention, cross-attention to M tokens of width e, GEGLU feed-forward (c -> 8c, then 4c -> c).
func transformer(B, N, c, M, e int64) Cost {
	n := B * N
	return norm(c).Plus(linear(n, c, c, true), norm(c), attention(B, N, c, N, c), norm(c),
		attention(B, N, c, M, e), norm(c), linear(n, c, 8*c, true), linear(n, 4*c, c, true),
		linear(n, c, c, true))
}

// vaeAttention is the VAE mid block's single-head attention with biases on all four projections.
func vaeAttention(n, c int64) Cost {
	return norm(c).Plus(linear(n, c, c, true), linear(n, c, c, true), linear(n, c, c, true),
		linear(n, c, c, true), Cost{MACs: 2 * n * n * c})
}

// half is a stride-2, padding-1, 3x3 convolution's output side.
func half(s int64) int64 { return (s-1)/2 + 1 }

// DenoiserCost returns the closed-form cost of the UNet and of the ControlNet at batch B on a latent
// of h x w.
func (c Config) DenoiserCost(B, h, w int) (unet, controlnet Cost) {
	b := int64(B)
	ch := i64s(c.Channels)
	n := len(ch)
	temb := 4 * ch[0]
	lat := int64(c.LatentChannels)
	L, E, T, D := int64(c.TextLen), int64(c.TextWidth), int64(c.SAMTokens), int64(c.SAMWidth)
	side := make([][2]int64, n) // latent side per level
	side[0] = [2]int64{int64(h), int64(w)}
	for i := 1; i < n; i++ {
		side[i] = [2]int64{half(side[i-1][0]), half(side[i-1][1])}
	}
	N := func(l int) int64 { return side[l][0] * side[l][1] }
	time := linear(b, ch[0], temb, true).Plus(linear(b, temb, temb, true))
	// The text transformer and the SeeSR image transformer of a cross-attention block.
	attn := func(l int, c int64) Cost { return transformer(b, N(l), c, L, E).Plus(transformer(b, N(l), c, T, D)) }

	var down, zero Cost
	zero = conv(b*N(0), ch[0], ch[0], 1)
	for i := range n {
		for j := range c.Layers {
			in := ch[i]
			if j == 0 {
				in = ch[max(i-1, 0)]
			}
			down = down.Plus(resnet(b, b*N(i), in, ch[i], temb))
			if i < n-1 {
				down = down.Plus(attn(i, ch[i]))
			}
			zero = zero.Plus(conv(b*N(i), ch[i], ch[i], 1))
		}
		if i < n-1 {
			down = down.Plus(conv(b*N(i+1), ch[i], ch[i], 3))
			zero = zero.Plus(conv(b*N(i+1), ch[i], ch[i], 1))
		}
	}
	top := ch[n-1]
	mid := resnet(b, b*N(n-1), top, top, temb).Plus(attn(n-1, top), resnet(b, b*N(n-1), top, top, temb))
	zero = zero.Plus(conv(b*N(n-1), top, top, 1))

	// Up blocks (diffusers' get_up_block channel rule): reversed widths, skip connections
	// concatenated, an upsample (nearest, then a 3x3 convolution) after all but the last.
	var up Cost
	rc := make([]int64, n)
	for i := range n {
		rc[i] = ch[n-1-i]
	}
	for i := range n {
		l := n - 1 - i
		out, prev, in := rc[i], rc[max(i-1, 0)], rc[min(i+1, n-1)]
		for j := range c.Layers + 1 {
			skip, rin := out, out
			if j == c.Layers {
				skip = in
			}
			if j == 0 {
				rin = prev
			}
			up = up.Plus(resnet(b, b*N(l), rin+skip, out, temb))
			if i > 0 {
				up = up.Plus(attn(l, out))
			}
		}
		if i < n-1 {
			up = up.Plus(conv(b*N(l-1), out, out, 3))
		}
	}
	io := conv(b*N(0), lat, ch[0], 3)
	unet = time.Plus(io, down, mid, up, norm(ch[0]), conv(b*N(0), ch[0], lat, 3))

	// ControlNetConditioningEmbedding on the 8x condition image: 3 -> c0, then per step a 3x3
	// convolution and a stride-2 one to the next width, then to the UNet's first width.
	cc := i64s(c.CondChannels)
	H, W := 8*int64(h), 8*int64(w)
	cond := conv(b*H*W, 3, cc[0], 3)
	for i := range 3 {
		cond = cond.Plus(conv(b*H*W, cc[i], cc[i], 3))
		H, W = half(H), half(W)
		cond = cond.Plus(conv(b*H*W, cc[i], cc[i+1], 3))
	}
	cond = cond.Plus(conv(b*H*W, cc[3], ch[0], 3))
	controlnet = time.Plus(io, cond, down, mid, zero)
	return unet, controlnet
}

// VAEDecoderCost returns the closed-form cost of the VAE decoder on a latent of h x w.
func (c Config) VAEDecoderCost(h, w int) Cost {
	vc := i64s(c.VAEChannels)
	lat := int64(c.LatentChannels)
	n := int64(h) * int64(w)
	top := vc[3]
	cost := conv(n, lat, lat, 1).Plus(conv(n, lat, top, 3),
		resnet(1, n, top, top, 0), vaeAttention(n, top), resnet(1, n, top, top, 0))
	for i := range 4 {
		out, prev := vc[3-i], vc[3-max(i-1, 0)]
		for j := range 3 {
			in := out
			if j == 0 {
				in = prev
			}
			cost = cost.Plus(resnet(1, n, in, out, 0))
		}
		if i < 3 {
			n *= 4
			cost = cost.Plus(conv(n, out, out, 3))
		}
	}
	return cost.Plus(norm(vc[0]), conv(n, vc[0], 3, 3))
}

// VAEEncoderCost returns the closed-form cost of the VAE encoder on an image of H x W (multiples of
// 8): the downsampling convolutions pad only right and bottom, so each halves the side exactly.
func (c Config) VAEEncoderCost(H, W int) Cost {
	vc := i64s(c.VAEChannels)
	lat := int64(c.LatentChannels)
	n := int64(H) * int64(W)
	cost := conv(n, 3, vc[0], 3)
	for i := range 4 {
		in := vc[max(i-1, 0)]
		cost = cost.Plus(resnet(1, n, in, vc[i], 0), resnet(1, n, vc[i], vc[i], 0))
		if i < 3 {
			n /= 4
			cost = cost.Plus(conv(n, vc[i], vc[i], 3))
		}
	}
	top := vc[3]
	return cost.Plus(resnet(1, n, top, top, 0), vaeAttention(n, top), resnet(1, n, top, top, 0),
		norm(top), conv(n, top, 2*lat, 3), conv(n, 2*lat, 2*lat, 1))
}

// SAMCost returns the closed-form cost of the SAM2 encoder stand-in: a 7x7 stride-4 patch
// embedding; per block LayerNorm, qkv and output projections, windowed (or global) attention and a
// 4x GELU MLP, with the first block of each later stage max-pooling 2x2 and projecting the
// residual to the new width; the neck's 1x1 lateral convolutions at strides 32 and 16; the
// no-memory embedding.
func (c Config) SAMCost() Cost {
	s := c.SAM
	side := int64(s.Size / 4)
	cost := conv(side*side, 3, int64(s.Dims[0]), 7)
	k := 0
	dim := int64(s.Dims[0])
	for st := range 4 {
		out := int64(s.Dims[st])
		for bl := range s.Blocks[st] {
			cost = cost.Plus(norm(dim))
			if st > 0 && bl == 0 {
				side /= 2
				cost = cost.Plus(linear(side*side, dim, out, true))
			}
			n := side * side
			win := int64(s.Windows[st])
			if contains(s.Global, k) {
				win = side
			}
			cost = cost.Plus(linear(n, dim, 3*out, true), Cost{MACs: 2 * n * win * win * out},
				linear(n, out, out, true), norm(out), linear(n, out, 4*out, true), linear(n, 4*out, out, true))
			dim = out
			k++
		}
	}
	w := int64(s.Width)
	s16 := int64(s.Size / 16)
	return cost.Plus(conv(side*side, int64(s.Dims[3]), w, 1), conv(s16*s16, int64(s.Dims[2]), w, 1), Cost{Params: w})
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func i64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// KVCost is the closed-form cost of sam_kv: its parameters and MACs, and the length of its one
// output (every image transformer's keys and values, flattened).
type KVCost struct {
	Cost
	Outputs int64
}

// SAMKVCost returns the cost of projecting the SAM tokens into every image transformer's keys and
// values once (batch 1): per transformer two T x D x c products.
func (c Config) SAMKVCost() KVCost {
	var k KVCost
	T, D := int64(c.SAMTokens), int64(c.SAMWidth)
	n := len(c.Channels)
	level := func(l int) {
		w := int64(c.Channels[l])
		k.Cost = k.Cost.Plus(linear(T, D, w, false), linear(T, D, w, false))
		k.Outputs += 2 * T * w
	}
	for range 2 { // ControlNet and UNet: down blocks with attention, and the mid block
		for i := range n - 1 {
			for range c.Layers {
				level(i)
			}
		}
		level(n - 1)
	}
	for i := 1; i < n; i++ { // UNet up blocks with attention
		for range c.Layers + 1 {
			level(n - 1 - i)
		}
	}
	return k
}
