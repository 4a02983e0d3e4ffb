package synthetic

import "github.com/ugcsr/ugcsr/sr/onnx"

// samEncoder builds the SAM2 Hiera-T stand-in (see SAMConfig and Config.SAMCost): image [1, 3, S, S]
// to the stride-16 features with the no-memory embedding added, [1, (S/16)^2, width].
//
// It keeps Hiera-T's stages, widths, heads, block counts, window and global attention and MLP
// ratio, and its FPN neck's lateral 1x1 convolutions; it departs where the cost barely moves:
// no position embeddings, windows of 16 and 8 where Hiera-T has 14 and 7 (which need padding),
// and each stage's first block pools its normalised input before the projections (Hiera pools the
// queries and the projected residual, so its keys and values see the finer map).
func (b *builder) samEncoder(c Config) {
	s := c.SAM
	S := int64(s.Size)
	x := b.input("image", onnx.Float16, 1, 3, S, S)
	d0 := int64(s.Dims[0])
	x = b.conv(x, "image_encoder.trunk.patch_embed.proj", 3, d0, 7, 4, 3, 3, 3, 3)
	x = b.op("Transpose", []string{x}, onnx.AttrInts("perm", 0, 2, 3, 1)) // NHWC tokens
	side, dim := S/4, d0
	k := 0
	var s16 string
	for st := range 4 {
		out, h := int64(s.Dims[st]), int64(s.Heads[st])
		for bl := range s.Blocks[st] {
			name := "image_encoder.trunk.blocks." + itoa(k)
			xn := b.layerNorm(x, name+".norm1", dim, 1e-6)
			res := x
			if st > 0 && bl == 0 {
				side /= 2
				p := b.op("MaxPool", []string{b.op("Transpose", []string{xn}, onnx.AttrInts("perm", 0, 3, 1, 2))},
					onnx.AttrInts("kernel_shape", 2, 2), onnx.AttrInts("strides", 2, 2))
				xn = b.op("Transpose", []string{p}, onnx.AttrInts("perm", 0, 2, 3, 1))
				res = b.linear(xn, name+".proj", dim, out, true)
			}
			win := int64(s.Windows[st])
			if contains(s.Global, k) {
				win = side
			}
			nw := side / win
			// Windows: [1, side, side, C] -> [nw*nw, win*win, C].
			t := b.op("Reshape", []string{xn, b.ints(1, nw, win, nw, win, dim)})
			t = b.op("Transpose", []string{t}, onnx.AttrInts("perm", 0, 1, 3, 2, 4, 5))
			t = b.op("Reshape", []string{t, b.ints(nw*nw, win*win, dim)})
			qkv := b.linear(t, name+".attn.qkv", dim, 3*out, true)
			parts := b.g.Node("Split", []string{qkv}, []string{b.v("q"), b.v("k"), b.v("v")}, onnx.AttrInt("axis", -1))
			a := b.sdpa(b.heads(parts[0], h, out, false), b.heads(parts[1], h, out, true), b.heads(parts[2], h, out, false), h, out)
			a = b.linear(a, name+".attn.proj", out, out, true)
			a = b.op("Reshape", []string{a, b.ints(1, nw, nw, win, win, out)})
			a = b.op("Transpose", []string{a}, onnx.AttrInts("perm", 0, 1, 3, 2, 4, 5))
			a = b.op("Reshape", []string{a, b.ints(1, side, side, out)})
			x = b.op("Add", []string{res, a})
			m := b.linear(b.layerNorm(x, name+".norm2", out, 1e-6), name+".mlp.layers.0", out, 4*out, true)
			m = b.linear(b.gelu(m), name+".mlp.layers.1", 4*out, out, true)
			x = b.op("Add", []string{x, m})
			dim = out
			k++
		}
		if st == 2 {
			s16 = x
		}
	}
	// FPN neck: lateral 1x1 convolutions at strides 32 and 16, the coarser one upsampled (nearest)
	// and added.
	w := int64(s.Width)
	nchw := func(v string) string { return b.op("Transpose", []string{v}, onnx.AttrInts("perm", 0, 3, 1, 2)) }
	top := b.conv(nchw(x), "image_encoder.neck.convs.3.conv", int64(s.Dims[3]), w, 1, 1)
	lat := b.conv(nchw(s16), "image_encoder.neck.convs.2.conv", int64(s.Dims[2]), w, 1, 1)
	sizes := b.op("Mul", []string{b.op("Shape", []string{top}), b.ints(1, 1, 2, 2)})
	up := b.op("Resize", []string{top, "", "", sizes}, onnx.AttrString("mode", "nearest"),
		onnx.AttrString("nearest_mode", "floor"), onnx.AttrString("coordinate_transformation_mode", "asymmetric"))
	f := b.op("Add", []string{lat, up})
	tokens := b.op("Transpose", []string{b.op("Reshape", []string{f, b.ints(1, w, -1)})}, onnx.AttrInts("perm", 0, 2, 1))
	tokens = b.op("Add", []string{tokens, b.param("no_mem_embed", 0, 0.02, 1, 1, w)})
	b.output(tokens, "image_embeddings", onnx.Float16, 1, int64(c.SAMTokens), w)
}
