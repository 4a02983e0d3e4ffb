package diffusion

// ImageNet normalisation of the SAM2 encoder's and the tagger's input.
var (
	imagenetMean = [3]float32{0.485, 0.456, 0.406}
	imagenetStd  = [3]float32{0.229, 0.224, 0.225}
)

// linearResizer is a plain bilinear resize of planes, not antialiased: each output sample
// interpolates the two nearest source samples along each axis, whatever the scale. It is what
// the reference's transforms.Resize does to the SAM2 (1024) and tagger (384) inputs: on a tensor,
// torchvision 0.15 (the pinned environment) calls torch.nn.functional.interpolate with
// mode="bilinear", align_corners=False and no antialias, so shrinking skips source pixels.
type linearResizer struct {
	inW, inH, outW, outH int
	hx, hy               taps
	tmp                  []float32
}

// taps are the two source samples i0, i1 of each output sample and their weights w0, w1.
type taps struct {
	i0, i1 []int
	w0, w1 []float32
}

// linearTaps follows PyTorch's upsample_bilinear2d with align_corners=False: output o samples the
// source at (o+0.5)*in/out - 0.5, raised to 0 when negative; i0 is its integer part, i1 = i0+1
// except at the last sample, and w1 is the fractional part. Like PyTorch's kernels for float
// tensors, the coordinates are float32.
func linearTaps(in, out int) taps {
	t := taps{i0: make([]int, out), i1: make([]int, out), w0: make([]float32, out), w1: make([]float32, out)}
	scale := float32(in) / float32(out)
	for o := range out {
		src := float32(scale*(float32(o)+0.5)) - 0.5
		if src < 0 {
			src = 0
		}
		i0 := min(int(src), in-1)
		l := min(src-float32(i0), 1)
		t.i0[o], t.i1[o] = i0, min(i0+1, in-1)
		t.w0[o], t.w1[o] = 1-l, l
	}
	return t
}

func newLinearResizer(inW, inH, outW, outH int) *linearResizer {
	return &linearResizer{inW: inW, inH: inH, outW: outW, outH: outH,
		hx: linearTaps(inW, outW), hy: linearTaps(inH, outH), tmp: make([]float32, outW*inH)}
}

// resize resizes one plane: along x into tmp, then along y.
func (r *linearResizer) resize(dst, src []float32) {
	hx, hy := &r.hx, &r.hy
	for y := range r.inH {
		in := src[y*r.inW : (y+1)*r.inW]
		out := r.tmp[y*r.outW : (y+1)*r.outW]
		for x := range out {
			out[x] = hx.w0[x]*in[hx.i0[x]] + hx.w1[x]*in[hx.i1[x]]
		}
	}
	for y := range r.outH {
		out := dst[y*r.outW : (y+1)*r.outW]
		a := r.tmp[hy.i0[y]*r.outW : (hy.i0[y]+1)*r.outW]
		b := r.tmp[hy.i1[y]*r.outW : (hy.i1[y]+1)*r.outW]
		w0, w1 := hy.w0[y], hy.w1[y]
		for x := range out {
			out[x] = w0*a[x] + w1*b[x]
		}
	}
}

// normalizedSquare writes the 3 planes of src (inW x inH, [0,1]) resized to outW x outH and
// ImageNet-normalised, (v - mean) / std per channel as torchvision's Normalize, into dst.
func (r *linearResizer) normalizedSquare(dst, src []float32) {
	n, m := r.inW*r.inH, r.outW*r.outH
	for c := range 3 {
		out := dst[c*m : (c+1)*m]
		r.resize(out, src[c*n:(c+1)*n])
		mean, std := imagenetMean[c], imagenetStd[c]
		for i, v := range out {
			out[i] = (v - mean) / std
		}
	}
}
