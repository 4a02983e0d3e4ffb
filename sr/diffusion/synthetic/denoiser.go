package synthetic

import (
	"math"
	"strconv"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// denoiserNet holds what the ControlNet and the UNet share while the denoiser graph is built.
type denoiserNet struct {
	b         *builder
	c         Config
	text, sam string      // contexts [B, L, E], [B, T, D]
	samKV     [][2]string // per image transformer, precomputed keys and values (the cached variant)
	kvIndex   int
}

// timeEmbedding is diffusers' Timesteps (flip_sin_to_cos, shift 0) and TimestepEmbedding:
// sinusoid of width c0, Linear to 4*c0, SiLU, Linear; it returns SiLU of the result, which every
// ResNet takes.
func (d *denoiserNet) timeEmbedding(t, name string) string {
	b := d.b
	c0 := int64(d.c.Channels[0])
	half := c0 / 2
	freqs := make([]float32, half)
	for i := range freqs {
		freqs[i] = float32(math.Exp(-math.Log(10000) * float64(i) / float64(half)))
	}
	f := b.op("Unsqueeze", []string{b.op("Cast", []string{t}, onnx.AttrInt("to", int64(onnx.Float))), b.ints(1)})
	fc := b.g.Node("Constant", nil, []string{b.v("freqs")}, onnx.AttrTensor("value", onnx.Float, []int64{1, half}, freqs))[0]
	arg := b.op("Mul", []string{f, fc})
	emb := b.op("Concat", []string{b.op("Cos", []string{arg}), b.op("Sin", []string{arg})}, onnx.AttrInt("axis", 1))
	if b.ct != onnx.Float {
		emb = b.op("Cast", []string{emb}, onnx.AttrInt("to", int64(b.ct)))
	}
	emb = b.linear(emb, name+".linear_1", c0, 4*c0, true)
	emb = b.linear(b.silu(emb), name+".linear_2", 4*c0, 4*c0, true)
	return b.silu(emb)
}

// crossAttn is a cross-attention block's pair: the text transformer, then SeeSR's image
// transformer attending to the SAM tokens.
func (d *denoiserNet) crossAttn(x, name string, c, h int64) string {
	g := int64(d.c.Groups)
	x = d.b.transformer(x, d.text, name+".attentions", c, int64(d.c.TextWidth), h, g, nil)
	var kv *[2]string
	if d.samKV != nil {
		kv = &d.samKV[d.kvIndex]
		d.kvIndex++
	}
	return d.b.transformer(x, d.sam, name+".image_attentions", c, int64(d.c.SAMWidth), h, g, kv)
}

// down runs conv_in's output through the down blocks and returns the output and every state the
// skip connections (or the ControlNet's zero convolutions) take.
func (d *denoiserNet) down(x, temb, name string) (string, []string, []int64) {
	b, c := d.b, d.c
	n := len(c.Channels)
	temb4 := 4 * int64(c.Channels[0])
	states, widths := []string{x}, []int64{int64(c.Channels[0])}
	in := int64(c.Channels[0])
	for i := range n {
		out, h := int64(c.Channels[i]), int64(c.Heads[i])
		blk := name + ".down_blocks." + itoa(i)
		for j := range c.Layers {
			x = b.resnet(x, temb, blk+".resnets."+itoa(j), in, out, temb4, int64(c.Groups), 1e-5)
			in = out
			if i < n-1 {
				x = d.crossAttn(x, blk+"."+itoa(j), out, h)
			}
			states, widths = append(states, x), append(widths, out)
		}
		if i < n-1 {
			x = b.conv(x, blk+".downsamplers.0.conv", out, out, 3, 2)
			states, widths = append(states, x), append(widths, out)
		}
	}
	return x, states, widths
}

func (d *denoiserNet) mid(x, temb, name string) string {
	c := d.c
	n := len(c.Channels)
	top, g, temb4 := int64(c.Channels[n-1]), int64(c.Groups), 4*int64(c.Channels[0])
	x = d.b.resnet(x, temb, name+".resnets.0", top, top, temb4, g, 1e-5)
	x = d.crossAttn(x, name+".0", top, int64(c.Heads[n-1]))
	return d.b.resnet(x, temb, name+".resnets.1", top, top, temb4, g, 1e-5)
}

// controlNet returns the 12 down residuals and the mid residual.
func (d *denoiserNet) controlNet(sample, t, cond string) ([]string, string) {
	b, c := d.b, d.c
	temb := d.timeEmbedding(t, "controlnet.time_embedding")
	c0, lat := int64(c.Channels[0]), int64(c.LatentChannels)
	x := b.conv(sample, "controlnet.conv_in", lat, c0, 3, 1)

	cc := i64s(c.CondChannels)
	e := b.silu(b.conv(cond, "controlnet.controlnet_cond_embedding.conv_in", 3, cc[0], 3, 1))
	for i := range 3 {
		name := "controlnet.controlnet_cond_embedding.blocks."
		e = b.silu(b.conv(e, name+itoa(2*i), cc[i], cc[i], 3, 1))
		e = b.silu(b.conv(e, name+itoa(2*i+1), cc[i], cc[i+1], 3, 2))
	}
	e = b.conv(e, "controlnet.controlnet_cond_embedding.conv_out", cc[3], c0, 3, 1)
	x = b.op("Add", []string{x, e})

	x, states, widths := d.down(x, temb, "controlnet")
	var res []string
	for i, s := range states {
		res = append(res, b.conv(s, "controlnet.controlnet_down_blocks."+itoa(i), widths[i], widths[i], 1, 1))
	}
	x = d.mid(x, temb, "controlnet.mid_block")
	top := int64(c.Channels[len(c.Channels)-1])
	return res, b.conv(x, "controlnet.controlnet_mid_block", top, top, 1, 1)
}

// unet is the UNet with the ControlNet's residuals added to its skip states and mid output.
func (d *denoiserNet) unet(sample, t string, res []string, midRes string) string {
	b, c := d.b, d.c
	temb := d.timeEmbedding(t, "unet.time_embedding")
	c0, lat, g, temb4 := int64(c.Channels[0]), int64(c.LatentChannels), int64(c.Groups), 4*int64(c.Channels[0])
	x := b.conv(sample, "unet.conv_in", lat, c0, 3, 1)
	x, states, widths := d.down(x, temb, "unet")
	for i := range states {
		states[i] = b.op("Add", []string{states[i], res[i]})
	}
	x = b.op("Add", []string{d.mid(x, temb, "unet.mid_block"), midRes})

	n := len(c.Channels)
	prev := int64(c.Channels[n-1])
	for i := range n {
		out, h := int64(c.Channels[n-1-i]), int64(c.Heads[n-1-i])
		blk := "unet.up_blocks." + itoa(i)
		for j := range c.Layers + 1 {
			k := len(states) - 1
			skip, w := states[k], widths[k]
			states, widths = states[:k], widths[:k]
			x = b.op("Concat", []string{x, skip}, onnx.AttrInt("axis", 1))
			x = b.resnet(x, temb, blk+".resnets."+itoa(j), prev+w, out, temb4, g, 1e-5)
			prev = out
			if i > 0 {
				x = d.crossAttn(x, blk+"."+itoa(j), out, h)
			}
		}
		if i < n-1 {
			x = b.upsample(x, states[len(states)-1], blk+".upsamplers.0", out)
		}
	}
	x = b.silu(b.groupNorm(x, "unet.conv_norm_out", c0, g, 1e-5))
	return b.conv(x, "unet.conv_out", c0, lat, 3, 1)
}

// imageTransformers returns the widths and head counts of the image transformers in the order
// the denoiser runs them, which is the order crossAttn takes cached keys and values in: the
// ControlNet's down blocks and mid block, then the UNet's down blocks, mid block and up blocks.
func (c Config) imageTransformers() (widths, heads []int64) {
	n := len(c.Channels)
	var levels []int
	for range 2 { // ControlNet, then UNet
		for i := range n - 1 {
			for range c.Layers {
				levels = append(levels, i)
			}
		}
		levels = append(levels, n-1) // mid
	}
	for i := 1; i < n; i++ {
		for range c.Layers + 1 {
			levels = append(levels, n-1-i)
		}
	}
	for _, l := range levels {
		widths, heads = append(widths, int64(c.Channels[l])), append(heads, int64(c.Heads[l]))
	}
	return widths, heads
}

func itoa(i int) string { return strconv.Itoa(i) }
