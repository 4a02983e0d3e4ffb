package diffusion

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// BenchOptions configures Bench.
type BenchOptions struct {
	// Tiles are the latent window sides timed, in order (optional). It defaults to 64 (a 512x512
	// frame); a real job's windows are 96 above 768 pixels, and a 1280x720 frame at scale 1 is one
	// 90x160 latent cut into 90x90 windows.
	Tiles []int
	// Runs is the number of timed denoiser runs (steps) per tile after one warm-up run (optional).
	// It defaults to 5.
	Runs int
	// Frame is a frame size to project the per-step cost onto (optional): its window count at
	// scale 1, for the tile of that size.
	Frame image.Point
	// MemLimit is the memory a tile may need (optional). It defaults to what the system reports
	// available (MemAvailable) at the start. A tile whose estimate exceeds it is not run; the
	// result says what it would need.
	MemLimit int64
	// MatMul measures the CPU's fp32 MatMul rate in the same run (CPU only).
	MatMul bool
	// LowMemory opens the sessions with ort.Config.LowMemory: no memory arena, no weight
	// prepacking.
	LowMemory bool
	// FrameGraphs also times, once each after the tiles, the SAM encoder and the VAE decoder on
	// Frame's latent (the per-scene and per-frame graphs), without a warm-up run.
	FrameGraphs bool
}

// BenchResult is the cost of the denoiser, the part that runs every step for every tile.
type BenchResult struct {
	Bundle, Device string
	// Batch is the denoiser batch (2 with guidance, else 1).
	Batch int
	Tiles []TileBench
	// MatMulGFLOPS is the CPU's fp32 MatMul rate measured in the same run (0 when not asked or
	// not on the CPU).
	MatMulGFLOPS float64
	// SAMKVTime is the time of one sam_kv run (once per scene), when the bundle has the cached
	// variant.
	SAMKVTime time.Duration
	// MemLimit is the memory budget the tiles were checked against.
	MemLimit int64
	// SAMTime and DecoderTime are one SAM encoder run and one VAE decoder run on the frame's
	// latent (DecoderLatent), with their MACs, when FrameGraphs was asked.
	SAMTime, DecoderTime time.Duration
	SAMMACs, DecoderMACs int64
	DecoderLatent        [2]int
}

// TileBench is one tile's measurement.
type TileBench struct {
	Tile int
	// Skipped says why the tile was not run ("" when it was).
	Skipped string
	// StepTime is the mean wall time of one denoiser run: one tile, one step, the whole batch.
	StepTime time.Duration
	// MACs is the multiply-accumulate count of that run (0 when unknown); FLOPs is 2*MACs.
	MACs  int64
	FLOPs float64
	// MACSource says where MACs comes from: "manifest" (denoiser_macs, at its own tile) or "graph"
	// (counted by onnx.CountMACs); Uncounted is the number of matrix and convolution nodes whose
	// shapes could not be inferred (MACs is then a lower bound).
	MACSource string
	Uncounted int
	// TFLOPS is the achieved rate, FLOPs / StepTime / 1e12.
	TFLOPS float64
	// MemNeed is the estimated memory of the run: the weights in the type they compute in plus
	// three times the largest intermediate tensor (an attention matrix and its softmax).
	MemNeed int64
	// PeakRSS is the process's peak resident memory after the tile (VmHWM; 0 where unknown). Tiles
	// run in the order given, so it is the peak of this tile or an earlier one.
	PeakRSS int64
	// FrameTiles and FrameStepTime project onto BenchOptions.Frame: the windows per step and the
	// denoiser time of one step of that frame.
	FrameTiles    int
	FrameStepTime time.Duration
	// KVStepTime and KVMACs are the cached-K/V denoiser's, when the bundle has it.
	KVStepTime time.Duration
	KVMACs     int64
}

func (r *BenchResult) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s on %s, batch %d", r.Bundle, r.Device, r.Batch)
	if r.MatMulGFLOPS > 0 {
		fmt.Fprintf(&s, "; fp32 MatMul 1024^3 on this CPU: %.1f GFLOP/s", r.MatMulGFLOPS)
	}
	if r.MemLimit > 0 {
		fmt.Fprintf(&s, "; memory budget %.1f GB", float64(r.MemLimit)/1e9)
	}
	for _, t := range r.Tiles {
		fmt.Fprintf(&s, "\n  tile %dx%d latent (%dx%d px): ", t.Tile, t.Tile, 8*t.Tile, 8*t.Tile)
		if t.Skipped != "" {
			s.WriteString("not run: " + t.Skipped)
			continue
		}
		fmt.Fprintf(&s, "%.3f s per step, %.4g GFLOP (%s", t.StepTime.Seconds(), t.FLOPs/1e9, t.MACSource)
		if t.Uncounted > 0 {
			fmt.Fprintf(&s, ", %d nodes uncounted", t.Uncounted)
		}
		if t.TFLOPS >= 1 {
			fmt.Fprintf(&s, "), %.1f TFLOP/s", t.TFLOPS)
		} else {
			fmt.Fprintf(&s, "), %.1f GFLOP/s", t.TFLOPS*1e3)
		}
		if r.MatMulGFLOPS > 0 {
			fmt.Fprintf(&s, " (%.0f%% of MatMul)", 100*t.TFLOPS*1e3/r.MatMulGFLOPS)
		}
		fmt.Fprintf(&s, ", memory estimate %.1f GB, peak RSS %.1f GB", float64(t.MemNeed)/1e9, float64(t.PeakRSS)/1e9)
		if t.FrameTiles > 0 {
			fmt.Fprintf(&s, "; frame: %d tiles, %.3f s per step", t.FrameTiles, t.FrameStepTime.Seconds())
		}
		if t.KVStepTime > 0 {
			fmt.Fprintf(&s, "; cached SAM K/V: %.3f s per step (%.4g GFLOP), saves %.3f s (%.1f%%)",
				t.KVStepTime.Seconds(), 2*float64(t.KVMACs)/1e9, (t.StepTime - t.KVStepTime).Seconds(),
				100*(1-t.KVStepTime.Seconds()/t.StepTime.Seconds()))
		}
	}
	if r.SAMKVTime > 0 {
		fmt.Fprintf(&s, "\n  sam_kv (once per scene): %.3f s", r.SAMKVTime.Seconds())
	}
	if r.SAMTime > 0 {
		fmt.Fprintf(&s, "\n  sam_encoder (once per scene): %.3f s, %.4g GFLOP", r.SAMTime.Seconds(), 2*float64(r.SAMMACs)/1e9)
	}
	if r.DecoderTime > 0 {
		fmt.Fprintf(&s, "\n  vae_decoder on the frame's %dx%d latent (once per frame): %.3f s, %.4g GFLOP, peak RSS %.1f GB",
			r.DecoderLatent[0], r.DecoderLatent[1], r.DecoderTime.Seconds(), 2*float64(r.DecoderMACs)/1e9, float64(peakRSS())/1e9)
	}
	return s.String()
}

// Bench opens the bundle in dir with cfg, times the denoiser on each tile and counts its MACs.
func Bench(ctx context.Context, dir string, cfg Config, o BenchOptions) (*BenchResult, error) {
	b, err := Open(dir, cfg)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.bench(ctx, o)
}

func (b *Backend) bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if len(o.Tiles) == 0 {
		o.Tiles = []int{64}
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.MemLimit <= 0 {
		o.MemLimit = memAvailable()
	}
	B := 1
	if b.cfg.forGeometry(image.Point{}, image.Point{}).cfg() {
		B = 2
	}
	res := &BenchResult{Bundle: b.m.Name, Device: b.Device(), Batch: B, MemLimit: o.MemLimit}
	b.lowMemory = o.LowMemory
	if o.MatMul && (b.cfg.Device == ort.DeviceCPU || b.cfg.Device == ort.DeviceAuto && !ort.GPUPresent()) {
		g, _, err := ort.MatMulPeak(ctx, 1024, b.cfg.Threads, 3)
		if err != nil {
			return nil, err
		}
		res.MatMulGFLOPS = g
	}
	spec := b.m.Graphs[GraphDenoiser]
	wbytes, err := weightBytes(b.m.Path(spec.File))
	if err != nil {
		return nil, err
	}
	var den, kvDen *graph
	defer func() { den.close(); kvDen.close() }()
	var kv []float32
	for _, tile := range o.Tiles {
		tb := TileBench{Tile: tile}
		s := int64(tile)
		T, D := samDims(b.m)
		shapes := map[string][]int64{
			"sample":   {int64(B), int64(b.m.LatentChannels), s, s},
			"timestep": {int64(B)},
			"text":     {int64(B), int64(b.textL), int64(b.textE)},
			"sam":      {int64(B), int64(T), int64(D)},
			"cond":     {int64(B), 3, 8 * s, 8 * s},
		}
		rep, err := countGraph(b.m, spec, shapes)
		if err != nil {
			return nil, err
		}
		tb.MACs, tb.Uncounted, tb.MACSource = rep.MACs, rep.Uncounted, "graph"
		if b.m.DenoiserMACs > 0 && b.m.DenoiserMACsAt == [2]int{tile, tile} {
			tb.MACs, tb.MACSource = b.m.DenoiserMACs*int64(B), "manifest"
		}
		tb.FLOPs = 2 * float64(tb.MACs)
		tb.MemNeed = wbytes + 3*4*rep.Largest
		if tb.MemNeed > o.MemLimit {
			tb.Skipped = fmt.Sprintf("needs about %.1f GB (weights %.1f GB in float32 + 3 x the largest tensor, %.2f G elements), %.1f GB available",
				float64(tb.MemNeed)/1e9, float64(wbytes)/1e9, float64(rep.Largest)/1e9, float64(o.MemLimit)/1e9)
			res.Tiles = append(res.Tiles, tb)
			continue
		}
		if den == nil {
			r, err := b.open(GraphDenoiser, spec)
			if err != nil {
				return nil, err
			}
			den = newGraph(GraphDenoiser, spec, r, nil)
			res.Device = b.Device()
		}
		if tb.StepTime, err = timeGraph(ctx, den, shapes, "", o.Runs); err != nil {
			return nil, err
		}
		b.cfg.Logf("bench: tile %d: denoiser %.3f s per step, peak RSS %.1f GB", tile, tb.StepTime.Seconds(), float64(peakRSS())/1e9)
		tb.PeakRSS = peakRSS()
		if sec := tb.StepTime.Seconds(); sec > 0 {
			tb.TFLOPS = tb.FLOPs / sec / 1e12
		}
		if o.Frame.X > 0 && o.Frame.Y > 0 {
			g, err := newGeometry(o.Frame, o.Frame)
			if err != nil {
				return nil, err
			}
			h, w := g.latent()
			if grid := tileGrid(h, w); grid[0].size == tile || grid[0].size == 0 && h == tile && w == tile {
				tb.FrameTiles = len(grid)
				tb.FrameStepTime = time.Duration(tb.FrameTiles) * tb.StepTime
			}
		}
		if b.m.Has(GraphDenoiserKV) {
			kspec := b.m.Graphs[GraphDenoiserKV]
			if kv == nil {
				if kv, res.SAMKVTime, err = b.benchSAMKV(ctx, T, D); err != nil {
					return nil, err
				}
			}
			if kvDen == nil {
				den.close() // one denoiser's weights at a time
				den = nil
				r, err := b.open(GraphDenoiserKV, kspec)
				if err != nil {
					return nil, err
				}
				kvDen = newGraph(GraphDenoiserKV, kspec, r, nil)
			}
			kshapes := map[string][]int64{"sample": shapes["sample"], "timestep": shapes["timestep"],
				"text": shapes["text"], "cond": shapes["cond"], "kv": {1, int64(len(kv))}}
			buf, _, err := kvDen.in("kv", kshapes["kv"], nil)
			if err != nil {
				return nil, err
			}
			copy(buf.f32, kv)
			if tb.KVStepTime, err = timeGraph(ctx, kvDen, kshapes, "kv", o.Runs); err != nil {
				return nil, err
			}
			krep, err := countGraph(b.m, kspec, kshapes)
			if err != nil {
				return nil, err
			}
			tb.KVMACs = krep.MACs
			kvDen.close()
			kvDen = nil
			tb.PeakRSS = peakRSS()
		}
		res.Tiles = append(res.Tiles, tb)
		// Runs on a CPU take minutes: say each tile's figures as they come.
		b.cfg.Logf("bench: tile %d done: %.3f s per step, cached K/V %.3f s, peak RSS %.1f GB", tile, tb.StepTime.Seconds(), tb.KVStepTime.Seconds(), float64(tb.PeakRSS)/1e9)
	}
	if o.FrameGraphs && o.Frame.X > 0 && o.Frame.Y > 0 {
		den.close()
		den = nil
		if err := b.benchFrameGraphs(ctx, o.Frame, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// benchFrameGraphs times one run of the SAM encoder and one of the VAE decoder on frame's latent.
func (b *Backend) benchFrameGraphs(ctx context.Context, frame image.Point, res *BenchResult) error {
	geo, err := newGeometry(frame, frame)
	if err != nil {
		return err
	}
	h, w := geo.latent()
	sam := b.m.Graphs[GraphSAM].io("image", false)
	for _, j := range []struct {
		role, in, out string
		ins, outs     []int64
		t             *time.Duration
		macs          *int64
	}{
		{GraphSAM, "image", "embeddings", []int64{1, 3, sam.dim(2), sam.dim(3)}, nil, &res.SAMTime, &res.SAMMACs},
		{GraphVAEDecoder, "latent", "image", []int64{1, int64(b.m.LatentChannels), int64(h), int64(w)}, []int64{1, 3, int64(8 * h), int64(8 * w)}, &res.DecoderTime, &res.DecoderMACs},
	} {
		spec := b.m.Graphs[j.role]
		r, err := b.open(j.role, spec)
		if err != nil {
			return err
		}
		g := newGraph(j.role, spec, r, nil)
		in, _, err := g.in(j.in, j.ins, nil)
		if err != nil {
			g.close()
			return err
		}
		rng := rand.New(rand.NewPCG(5, 6))
		for i := range in.f32 {
			in.f32[i] = float32(rng.NormFloat64())
		}
		outs := j.outs
		if outs == nil {
			e := spec.io(j.out, true)
			outs = []int64{1, e.dim(1), e.dim(2)}
		}
		if _, err := g.out(j.out, outs); err != nil {
			g.close()
			return err
		}
		t0 := time.Now()
		err = g.run(ctx)
		*j.t = time.Since(t0)
		g.close()
		if err != nil {
			return err
		}
		rep, err := countGraph(b.m, spec, map[string][]int64{j.in: j.ins})
		if err != nil {
			return err
		}
		*j.macs = rep.MACs
	}
	res.DecoderLatent = [2]int{h, w}
	return nil
}

// timeGraph fills the inputs of g for shapes with fixed random values (except skip, an input
// already written), runs it once to warm up and returns the mean time of runs more.
func timeGraph(ctx context.Context, g *graph, shapes map[string][]int64, skip string, runs int) (time.Duration, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	for role, shape := range shapes {
		if role == skip {
			continue
		}
		buf, _, err := g.in(role, shape, nil)
		if err != nil {
			return 0, err
		}
		for i := range buf.i64 {
			buf.i64[i] = 501
		}
		for i := range buf.f32 {
			buf.f32[i] = float32(rng.NormFloat64())
			if role == "cond" {
				buf.f32[i] = rng.Float32()
			}
		}
	}
	if _, err := g.out("eps", shapes["sample"]); err != nil {
		return 0, err
	}
	if err := g.run(ctx); err != nil { // warm-up: allocations, cuDNN algorithm search
		return 0, err
	}
	start := time.Now()
	for range runs {
		if err := g.run(ctx); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(runs), nil
}

// benchSAMKV runs sam_kv once on random SAM tokens and returns its output and time.
func (b *Backend) benchSAMKV(ctx context.Context, T, D int) ([]float32, time.Duration, error) {
	spec := b.m.Graphs[GraphSAMKV]
	r, err := b.open(GraphSAMKV, spec)
	if err != nil {
		return nil, 0, err
	}
	g := newGraph(GraphSAMKV, spec, r, nil)
	defer g.close()
	in, _, err := g.in("sam", []int64{1, int64(T), int64(D)}, nil)
	if err != nil {
		return nil, 0, err
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range in.f32 {
		in.f32[i] = float32(rng.NormFloat64())
	}
	out, err := g.out("kv", []int64{1, spec.io("kv", true).dim(1)})
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	if err := g.run(ctx); err != nil {
		return nil, 0, err
	}
	d := time.Since(start)
	return append([]float32(nil), out.f32...), d, nil
}

// countGraph counts a graph's MACs for role shapes.
func countGraph(m *Manifest, spec *GraphSpec, shapes map[string][]int64) (*onnx.MACReport, error) {
	named := map[string][]int64{}
	for role, shape := range shapes {
		if io := spec.io(role, false); io != nil {
			named[io.Name] = shape
		}
	}
	return onnx.CountMACs(m.Path(spec.File), named)
}

// weightBytes returns the bytes of a graph's initializers as float32 (what they take on the CPU
// once ONNX Runtime has folded any Cast).
func weightBytes(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	m, err := onnx.ReadModel(data)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	var n int64
	for _, t := range m.Initializers {
		e := int64(1)
		for _, d := range t.Dims {
			e *= d
		}
		n += 4 * e
	}
	return n, nil
}

// memAvailable returns /proc/meminfo's MemAvailable in bytes (1<<62 where unknown).
func memAvailable() int64 {
	if v := procField("/proc/meminfo", "MemAvailable:"); v > 0 {
		return v
	}
	return 1 << 62
}

// peakRSS returns this process's peak resident memory (VmHWM), 0 where unknown.
func peakRSS() int64 { return procField("/proc/self/status", "VmHWM:") }

// procField reads a "Key: N kB" line of a /proc file, in bytes.
func procField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				if v, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
					return v * 1024
				}
			}
		}
	}
	return 0
}

// samDims returns the SAM context the denoiser takes: T tokens of width D.
func samDims(m *Manifest) (T, D int) {
	emb := m.Graphs[GraphSAM].io("embeddings", true)
	T, D = int(emb.dim(1)), int(emb.dim(2))
	if d := m.Graphs[GraphDenoiser].io("sam", false).dim(2); d > 0 {
		D = int(d)
	}
	return T, D
}
