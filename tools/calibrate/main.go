// Command calibrate measures x4fast's activations on frames of the shared clips and writes the int8
// calibration the converter reads (sr/realesrgan/calibration/realesrgan-x4fast.json):
//
//	go run ./tools/calibrate [-clips ../shared/clips] [-p 0.999] [-equalize 0.5]
//	go run ./tools/calibrate -compare [-golden ../shared/golden]
//
// With -compare it writes nothing and prints, for the golden inputs, the int8 model's PSNR against
// fp32 for each quantile and equalization tried, and with the weights alone quantized: the
// measured comparison behind the chosen method.
//
// The calibration frames are 320x180: the clips' frames at 0.5, 3.5, 5.5 and 8.5 s scaled down with
// an area filter (as a 720p phone clip's content looks at a quarter of its size), and native-size
// 320x180 crops of the frame at 4.5 s (centre and top left: the pixels of a 720p input as the model
// sees them). Frames near 2.0 s (the goldens') and from 7.0 s on (the quality tests') are kept out.
// Ranges are the per-channel 99.9% quantile ranges, except the last convolution's (the residual the
// output adds), which keeps its extremes: clipping it clips highlights in the output.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
	"github.com/ugcsr/ugcsr/sr/resample"
)

func main() {
	clips := flag.String("clips", "../shared/clips", "directory of the shared clips")
	p := flag.Float64("p", 0.999, "quantile range kept per channel")
	eq := flag.Float64("equalize", 0.5, "cross-layer equalization exponent")
	out := flag.String("o", "sr/realesrgan/calibration/"+realesrgan.X4Fast+".json", "output file")
	compare := flag.Bool("compare", false, "print the PSNR of the methods tried instead of writing")
	golden := flag.String("golden", "../shared/golden", "directory of the golden inputs, for -compare")
	flag.Parse()
	if err := run(*clips, *p, *eq, *out, *compare, *golden); err != nil {
		log.Fatal(err)
	}
}

func run(clips string, p, eq float64, out string, compare bool, golden string) error {
	lib, err := ort.LibraryPath("", appcache.Dir())
	if err != nil {
		return err
	}
	if err := ort.Load(lib); err != nil {
		return err
	}
	dir := realesrgan.ModelsDir("")
	n, err := ncnn.ReadFiles(filepath.Join(dir, realesrgan.X4Fast+".param"), filepath.Join(dir, realesrgan.X4Fast+".bin"))
	if err != nil {
		return err
	}
	var frames []*frame.Frame
	var names []string
	for _, clip := range []string{"01_dog.mp4", "02_cups.mp4", "03_blocks.mp4"} {
		path := filepath.Join(clips, clip)
		for _, at := range []float64{0.5, 3.5, 5.5, 8.5} {
			f, err := frameAt(path, at)
			if err != nil {
				return err
			}
			small := frame.New(320, 180)
			if err := resample.Resize(resample.Area, small, f); err != nil {
				return err
			}
			round8(small)
			frames = append(frames, small)
			names = append(names, fmt.Sprintf("%s t=%.1fs area-scaled to 320x180", clip, at))
		}
		f, err := frameAt(path, 4.5)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			x, y int
			what string
		}{{(f.W - 320) / 2, (f.H - 180) / 2, "centre"}, {0, 0, "top-left"}} {
			frames = append(frames, crop(f, c.x, c.y, 320, 180))
			names = append(names, fmt.Sprintf("%s t=4.5s native 320x180 %s crop", clip, c.what))
		}
	}
	log.Printf("measuring %d frames", len(frames))
	acts, err := realesrgan.MeasureActivations(context.Background(), n, frames)
	if err != nil {
		return err
	}
	if compare {
		return compareMethods(n, acts, golden)
	}
	ranges := chosenRanges(n, acts, p)
	for _, rs := range ranges {
		for i, r := range rs {
			rs[i] = ncnn.Range{Min: round5(r.Min), Max: round5(r.Max)}
		}
	}
	cal := realesrgan.Calibration{
		Model:    realesrgan.X4Fast,
		Method:   fmt.Sprintf("per-channel %g quantile ranges (the last convolution's: extremes), equalization exponent %g; tools/calibrate", p, eq),
		Frames:   names,
		Equalize: eq,
		Ranges:   ranges,
	}
	b, err := json.MarshalIndent(cal, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s (calibration %s)", out, cal.ID())
	return nil
}

// chosenRanges is the quantile-p ranges, except the last convolution's, which keeps its extremes.
func chosenRanges(n *ncnn.Net, acts *realesrgan.Activations, p float64) map[string][]ncnn.Range {
	ranges := acts.Ranges(p)
	blobs := n.Int8Blobs()
	last := blobs[len(blobs)-1]
	ranges[last] = acts.Ranges(1)[last]
	return ranges
}

// compareMethods prints the int8 model's PSNR against fp32 on the x4fast golden inputs for each
// quantile and equalization exponent, and for the weights alone quantized.
func compareMethods(n *ncnn.Net, acts *realesrgan.Activations, golden string) error {
	names := []string{"01_dog", "02_cups", "03_blocks", "02_cups-odd97x61", "03_blocks-full480x270"}
	var inputs, wants []*frame.Frame
	ref, err := realesrgan.Open(realesrgan.Config{Model: realesrgan.X4Fast, Options: realesrgan.Options{Precision: realesrgan.PrecisionFP32},
		Runtime: ort.Runtime{Device: ort.DeviceCPU}})
	if err != nil {
		return err
	}
	defer ref.Close()
	for _, name := range names {
		f, err := readPNG(filepath.Join(golden, name+"_realesrgan-x4fast_lr.png"))
		if err != nil {
			return err
		}
		want, err := upscale(ref, f)
		if err != nil {
			return err
		}
		inputs, wants = append(inputs, f), append(wants, want)
	}
	tmp, err := os.MkdirTemp("", "calibrate")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Printf("| ranges | equalize | %s |\n|---|---:|%s\n", strings.Join(names, " | "), strings.Repeat("---:|", len(names)))
	row := func(what string, q ncnn.Int8) error {
		data, err := ncnn.ConvertInt8(n, q)
		if err != nil {
			return err
		}
		path := filepath.Join(tmp, "m.onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		b, err := realesrgan.Open(realesrgan.Config{Model: path, Options: realesrgan.Options{ModelScale: 4}, Runtime: ort.Runtime{Device: ort.DeviceCPU}})
		if err != nil {
			return err
		}
		defer b.Close()
		cells := []string{what, fmt.Sprint(q.Equalize)}
		for i, f := range inputs {
			got, err := upscale(b, f)
			if err != nil {
				return err
			}
			db, err := frame.PSNR(got, wants[i])
			if err != nil {
				return err
			}
			cells = append(cells, fmt.Sprintf("%.2f", db))
		}
		fmt.Printf("| %s |\n", strings.Join(cells, " | "))
		return nil
	}
	for _, p := range []float64{1, 0.999, 0.99} {
		for _, eq := range []float64{0, 0.5, 1} {
			if err := row(fmt.Sprintf("quantile %g", p), ncnn.Int8{Ranges: chosenRanges(n, acts, p), Equalize: eq}); err != nil {
				return err
			}
		}
	}
	return row("weights only", ncnn.Int8{Ranges: chosenRanges(n, acts, 1), WeightsOnly: true})
}

// upscale runs b on f at its native scale.
func upscale(b *realesrgan.Backend, f *frame.Frame) (*frame.Frame, error) {
	spec := sr.Spec{In: f.Size(), Out: f.Size().Mul(b.Scale())}
	u, err := b.NewUpscaler(spec)
	if err != nil {
		return nil, err
	}
	defer u.Close()
	out := frame.New(spec.Out.X, spec.Out.Y)
	return out, u.Upscale(context.Background(), []*frame.Frame{out}, []*frame.Frame{f})
}

func readPNG(path string) (*frame.Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return frame.FromImage(img), nil
}

// frameAt decodes the frame of path at time at (seconds).
func frameAt(path string, at float64) (*frame.Frame, error) {
	ctx := context.Background()
	d, err := decode.Open(ctx, decode.Options{Input: path, Start: time.Duration(at * float64(time.Second)), MaxFrames: 1})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	f, err := d.Read(ctx)
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: no frame at %.1fs", path, at)
	}
	if err != nil {
		return nil, err
	}
	c := frame.New(f.W, f.H)
	copy(c.Pix, f.Pix)
	f.Release()
	return c, nil
}

// round8 rounds samples to 8 bits, as a decoded 8-bit frame holds them.
func round8(f *frame.Frame) {
	for i, v := range f.Pix {
		f.Pix[i] = float32(frame.To8(v)) / 255
	}
}

func crop(f *frame.Frame, x0, y0, w, h int) *frame.Frame {
	c := frame.New(w, h)
	for ch := range 3 {
		src, dst := f.Plane(ch), c.Plane(ch)
		for y := range h {
			copy(dst[y*w:(y+1)*w], src[(y0+y)*f.W+x0:])
		}
	}
	return c
}

// round5 keeps 5 significant digits, so the committed file stays small and readable.
func round5(v float32) float32 {
	if v == 0 || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
		return v
	}
	e := math.Pow(10, 4-math.Floor(math.Log10(math.Abs(float64(v)))))
	return float32(math.Round(float64(v)*e) / e)
}
