package ncnn

import "fmt"

// ConvFLOPsPerPixel returns the multiply-adds of the net's convolutions, counted as 2 FLOPs each,
// per pixel of the input: each convolution's weight count times the area of its output relative to
// the input (from shape inference: x4plus's upsampling convolutions run at 2x and 4x). PReLU,
// additions and resizes are not counted.
func (n *Net) ConvFLOPsPerPixel() (int64, error) {
	info, _, err := n.shapes()
	if err != nil {
		return 0, err
	}
	var flops float64
	for _, l := range n.Layers {
		s, ok := l.spec.(convSpec)
		if !ok {
			continue
		}
		scale := info[l.Tops[0]].scale
		if scale == 0 {
			return 0, fmt.Errorf("ncnn: %s: output size is not a fixed multiple of the input", l)
		}
		flops += 2 * float64(s.weights) * scale * scale
	}
	return int64(flops), nil
}
