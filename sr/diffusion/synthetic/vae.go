package synthetic

import "github.com/ugcsr/ugcsr/sr/onnx"

// vaeAttention is the VAE mid block's attention: GroupNorm, one head, biases on q, k, v and the
// output, residual.
func (b *builder) vaeAttention(x, name string, c, groups int64) string {
	t := b.groupNorm(x, name+".group_norm", c, groups, 1e-6)
	t = b.op("Transpose", []string{b.op("Reshape", []string{t, b.ints(0, c, -1)})}, onnx.AttrInts("perm", 0, 2, 1))
	q := b.heads(b.linear(t, name+".to_q", c, c, true), 1, c, false)
	k := b.heads(b.linear(t, name+".to_k", c, c, true), 1, c, true)
	v := b.heads(b.linear(t, name+".to_v", c, c, true), 1, c, false)
	o := b.linear(b.sdpa(q, k, v, 1, c), name+".to_out.0", c, c, true)
	o = b.op("Reshape", []string{b.op("Transpose", []string{o}, onnx.AttrInts("perm", 0, 2, 1)), b.op("Shape", []string{x})})
	return b.op("Add", []string{o, x})
}

func (b *builder) vaeMid(x, name string, c, g int64) string {
	x = b.resnet(x, "", name+".resnets.0", c, c, 0, g, 1e-6)
	x = b.vaeAttention(x, name+".attentions.0", c, g)
	return b.resnet(x, "", name+".resnets.1", c, c, 0, g, 1e-6)
}

// vaeDecoder builds AutoencoderKL's post_quant_conv and decoder: latent [1, C, h, w] (already
// divided by the scaling factor) to an image [1, 3, 8h, 8w] in [-1, 1].
func (b *builder) vaeDecoder(c Config) {
	vc := i64s(c.VAEChannels)
	g, lat := int64(c.Groups), int64(c.LatentChannels)
	x := b.input("latent", onnx.Float16, 1, lat, -1, -1)
	x = b.conv(x, "post_quant_conv", lat, lat, 1, 1)
	x = b.conv(x, "decoder.conv_in", lat, vc[3], 3, 1)
	x = b.vaeMid(x, "decoder.mid_block", vc[3], g)
	prev := vc[3]
	for i := range 4 {
		out := vc[3-i]
		for j := range 3 {
			x = b.resnet(x, "", "decoder.up_blocks."+itoa(i)+".resnets."+itoa(j), prev, out, 0, g, 1e-6)
			prev = out
		}
		if i < 3 {
			x = b.upsample(x, "", "decoder.up_blocks."+itoa(i)+".upsamplers.0", out)
		}
	}
	x = b.silu(b.groupNorm(x, "decoder.conv_norm_out", vc[0], g, 1e-6))
	b.output(b.conv(x, "decoder.conv_out", vc[0], 3, 3, 1), "image", onnx.Float16, 1, 3, -1, -1)
}

// vaeEncoder builds AutoencoderKL's encoder and quant_conv, returning the posterior mean (the
// first C of the 2C moments): image [1, 3, H, W] in [-1, 1] to [1, C, H/8, W/8].
func (b *builder) vaeEncoder(c Config) {
	vc := i64s(c.VAEChannels)
	g, lat := int64(c.Groups), int64(c.LatentChannels)
	x := b.input("image", onnx.Float16, 1, 3, -1, -1)
	x = b.conv(x, "encoder.conv_in", 3, vc[0], 3, 1)
	prev := vc[0]
	for i := range 4 {
		for j := range 2 {
			x = b.resnet(x, "", "encoder.down_blocks."+itoa(i)+".resnets."+itoa(j), prev, vc[i], 0, g, 1e-6)
			prev = vc[i]
		}
		if i < 3 { // diffusers pads (0, 1, 0, 1) and convolves without padding
			x = b.conv(x, "encoder.down_blocks."+itoa(i)+".downsamplers.0.conv", vc[i], vc[i], 3, 2, 0, 0, 1, 1)
		}
	}
	x = b.vaeMid(x, "encoder.mid_block", vc[3], g)
	x = b.silu(b.groupNorm(x, "encoder.conv_norm_out", vc[3], g, 1e-6))
	x = b.conv(x, "encoder.conv_out", vc[3], 2*lat, 3, 1)
	x = b.conv(x, "quant_conv", 2*lat, 2*lat, 1, 1)
	mean := b.op("Slice", []string{x, b.ints(0), b.ints(lat), b.ints(1)})
	b.output(mean, "latent", onnx.Float16, 1, lat, -1, -1)
}
