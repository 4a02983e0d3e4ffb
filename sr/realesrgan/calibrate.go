package realesrgan

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// Calibration is what the int8 converter needs beyond the model: the float range each quantized
// tensor is quantized over, measured by running the fp32 model on sample frames. The committed
// calibrations (calibration/<model>.json) are made by tools/calibrate from frames of
// ../shared/clips; conversion at setup reads them and needs nothing else.
type Calibration struct {
	// Model is the converted model's name (X4Fast).
	Model string `json:"model"`
	// Method says how ranges were chosen, for the record.
	Method string `json:"method"`
	// Frames lists the calibration frames (clip, time, size), for the record.
	Frames []string `json:"frames"`
	// Equalize is ncnn.Int8's Equalize.
	Equalize float64 `json:"equalize"`
	// Ranges maps each blob of ncnn's Int8Blobs to its range per channel.
	Ranges map[string][]ncnn.Range `json:"ranges"`
}

// Int8 returns the converter's settings.
func (c *Calibration) Int8() ncnn.Int8 {
	return ncnn.Int8{Ranges: c.Ranges, Equalize: c.Equalize}
}

// ID returns a short hash of the calibration's ranges: int8 models are cached under it, so a new
// calibration never reuses a model quantized with the old one.
func (c *Calibration) ID() string {
	keys := make([]string, 0, len(c.Ranges))
	for k := range c.Ranges {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s", k)
		for _, r := range c.Ranges[k] {
			fmt.Fprintf(h, " %08x %08x", math.Float32bits(r.Min), math.Float32bits(r.Max))
		}
		fmt.Fprintln(h)
	}
	fmt.Fprintf(h, "equalize %v\n", c.Equalize)
	return hex.EncodeToString(h.Sum(nil))[:8]
}

//go:embed calibration/*.json
var calibrations embed.FS

// calibrationFor returns the committed calibration of the named model, or an error naming the
// model when it has none (only X4Fast has one: see PrecisionInt8). The file is parsed once per
// process; callers must not modify the result.
func calibrationFor(name string) (*Calibration, error) {
	if name != X4Fast {
		return nil, fmt.Errorf("realesrgan: %s has no int8 calibration (int8 is for %s)", name, X4Fast)
	}
	return x4fastCalibration()
}

var x4fastCalibration = sync.OnceValues(func() (*Calibration, error) {
	b, err := calibrations.ReadFile("calibration/" + X4Fast + ".json")
	if err != nil {
		return nil, fmt.Errorf("realesrgan: %s: %w", X4Fast, err)
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("realesrgan: calibration of %s: %w", X4Fast, err)
	}
	return &c, nil
})

// calibrationBins is the histogram resolution per channel: a quantile lands within 1/1024 of the
// channel's full range.
const calibrationBins = 1024

// channelStats accumulates one channel's values over the calibration frames: the extremes in the
// first pass, a histogram between them in the second.
type channelStats struct {
	min, max float32
	hist     []int64
}

// Activations is what the calibration graph's tensors held over the calibration frames, per
// channel: made by MeasureActivations, read by Ranges.
type Activations struct {
	taps  []ncnn.Tap
	stats [][]channelStats
}

// MeasureActivations runs n's calibration graph (ncnn.CalibrationGraph) on frames with ONNX Runtime
// on the CPU, which must be loaded, recording per channel the extremes and a histogram of
// calibrationBins bins between them (so the model runs twice per frame).
func MeasureActivations(ctx context.Context, n *ncnn.Net, frames []*frame.Frame) (*Activations, error) {
	data, taps, err := ncnn.CalibrationGraph(n, ncnn.Int8{})
	if err != nil {
		return nil, err
	}
	s, err := tapSession(data, taps)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	a := &Activations{taps: taps, stats: make([][]channelStats, len(taps))}
	for i, t := range taps {
		a.stats[i] = make([]channelStats, t.Channels)
	}
	for pass := range 2 {
		for _, f := range frames {
			err := runTaps(ctx, s, f, taps, func(i int, v []float32) {
				hw := len(v) / len(a.stats[i])
				for c := range a.stats[i] {
					st := &a.stats[i][c]
					if pass == 0 {
						st.extremes(v[c*hw : (c+1)*hw])
					} else {
						st.count(v[c*hw : (c+1)*hw])
					}
				}
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}

// Ranges returns each quantized tensor's range per channel: the values between the (1-p)/2 and
// (1+p)/2 quantiles of everything the channel held (p = 1 keeps the extremes).
func (a *Activations) Ranges(p float64) map[string][]ncnn.Range {
	ranges := map[string][]ncnn.Range{}
	for i, t := range a.taps {
		rs := make([]ncnn.Range, len(a.stats[i]))
		for c := range rs {
			rs[c] = a.stats[i][c].quantiles(p)
		}
		ranges[t.Blob] = rs
	}
	return ranges
}

// tapSession opens a CPU session reading the output and taps.
func tapSession(data []byte, taps []ncnn.Tap) (*ort.Session, error) {
	outs := []string{ncnn.OutputName}
	for _, t := range taps {
		outs = append(outs, t.Value)
	}
	s, err := ort.NewSession(ort.Model{Data: data}, ort.Config{Device: ort.DeviceCPU, Inputs: []string{ncnn.InputName}, Outputs: outs})
	if err != nil {
		return nil, fmt.Errorf("realesrgan: calibrate: %w", err)
	}
	return s, nil
}

// runTaps runs the calibration session on one frame and hands each tap's values to visit.
func runTaps(ctx context.Context, s *ort.Session, f *frame.Frame, taps []ncnn.Tap, visit func(i int, v []float32)) error {
	h, w := int64(f.H), int64(f.W)
	in, err := ort.NewTensor(ort.Float32, 1, 3, h, w)
	if err != nil {
		return err
	}
	defer in.Close()
	copy(in.Float32(), f.Pix)
	outs := make([]*ort.Tensor, 0, len(taps)+1)
	defer func() {
		for _, t := range outs {
			t.Close()
		}
	}()
	o, err := ort.NewTensor(ort.Float32, 1, 3, 4*h, 4*w)
	if err != nil {
		return err
	}
	outs = append(outs, o)
	for _, t := range taps {
		o, err := ort.NewTensor(ort.Float32, 1, int64(t.Channels), h, w)
		if err != nil {
			return err
		}
		outs = append(outs, o)
	}
	if err := s.Run(ctx, []*ort.Tensor{in}, outs); err != nil {
		return fmt.Errorf("realesrgan: calibrate: %w", err)
	}
	for i := range taps {
		visit(i, outs[i+1].Float32())
	}
	return nil
}

func (st *channelStats) extremes(v []float32) {
	for _, x := range v {
		st.min, st.max = min(st.min, x), max(st.max, x)
	}
}

func (st *channelStats) count(v []float32) {
	if st.hist == nil {
		st.hist = make([]int64, calibrationBins)
	}
	w := float64(st.max - st.min)
	for _, x := range v {
		b := int(float64(x-st.min) / w * calibrationBins)
		st.hist[max(0, min(calibrationBins-1, b))]++
	}
}

// quantiles returns the range between the (1-p)/2 and (1+p)/2 quantiles of the histogram.
func (st *channelStats) quantiles(p float64) ncnn.Range {
	if p >= 1 || st.hist == nil {
		return ncnn.Range{Min: st.min, Max: st.max}
	}
	var total int64
	for _, c := range st.hist {
		total += c
	}
	tail := int64(math.Floor(float64(total) * (1 - p) / 2))
	width := (st.max - st.min) / calibrationBins
	lo, hi := 0, calibrationBins-1
	for seen := int64(0); lo < hi && seen+st.hist[lo] <= tail; lo++ {
		seen += st.hist[lo]
	}
	for seen := int64(0); hi > lo && seen+st.hist[hi] <= tail; hi-- {
		seen += st.hist[hi]
	}
	return ncnn.Range{Min: st.min + float32(lo)*width, Max: st.min + float32(hi+1)*width}
}
