// Package ncnn reads ncnn models (.param text graph plus .bin weights) and converts them to ONNX.
//
// It supports exactly the layers the Real-ESRGAN models shipped with upscayl (realesrgan-x4fast,
// realesrgan-x4plus) use, and only the parameters that change their meaning when set:
//
//   - Input (0=w 1=h 2=c, all optional)
//   - Split (fan-out, no parameters)
//   - Convolution (0 num_output, 1/11 kernel, 2/12 dilation, 3/13 stride, 4/14/15/16 explicit
//     padding, 5 bias_term, 6 weight_data_size, 9 fused activation: 0 none, 1 ReLU, 2 LeakyReLU,
//     3 clip, 4 sigmoid, with -23310 its parameters)
//   - PReLU (0 num_slope)
//   - PixelShuffle (0 upscale_factor, 1 mode)
//   - Interp (0 resize_type 1 nearest or 2 bilinear, 1/2 height/width scale, 6 align_corner)
//   - BinaryOp (0 op_type add, sub, mul, div, max, min, pow, rsub, rdiv; 1 with_scalar, 2 b)
//   - Eltwise (0 op_type prod, sum, max; -23301 coefficients for sum)
//   - Concat (0 axis)
//
// Anything else (another layer type, a parameter id not listed, a quantized weight blob) is an
// error naming the layer, not a silently wrong graph. Weights are the "type 0" blobs of ncnn's
// ModelBin: fp16 (tag 0x01306B47) or raw fp32 (tag 0); biases and PReLU slopes are untagged fp32.
// Convert writes all weights as fp32 (fp16 ones are widened exactly); with Options.FP16 it writes
// them, and runs the net, in fp16 between float32 input and output.
package ncnn

import "errors"

// Magic is the first line of every text .param file.
const Magic = 7767517

// ErrFormat is wrapped by every error about a malformed or unsupported .param or .bin.
var ErrFormat = errors.New("ncnn: bad model")

// ErrUnsupported is wrapped (together with ErrFormat) by errors about a layer type, parameter or
// weight encoding this package does not convert.
var ErrUnsupported = errors.New("unsupported")
