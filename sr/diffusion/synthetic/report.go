package synthetic

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// GraphCost reads a written graph (its external data is not needed) and returns its parameter
// count, the initializers' elements, and its MACs as onnx.CountMACs infers them for the given
// input shapes, with the number of matrix and convolution nodes it could not count.
func GraphCost(path string, shapes map[string][]int64) (Cost, int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Cost{}, 0, err
	}
	m, err := onnx.ReadModel(b)
	if err != nil {
		return Cost{}, 0, fmt.Errorf("%s: %w", path, err)
	}
	var p int64
	for _, in := range m.Initializers {
		n := int64(1)
		for _, d := range in.Dims {
			n *= d
		}
		p += n
	}
	r := m.CountMACs(shapes)
	return Cost{Params: p, MACs: r.MACs}, r.Uncounted, nil
}

// Shapes are the input shapes of each graph at batch B on a latent of h x w (what GraphCost
// takes), keyed by file.
func (c Config) Shapes(B, h, w int) map[string]map[string][]int64 {
	b, H, W := int64(B), int64(8*h), int64(8*w)
	lat := int64(c.LatentChannels)
	den := map[string][]int64{
		"sample": {b, lat, int64(h), int64(w)}, "timestep": {b},
		"encoder_hidden_states": {b, int64(c.TextLen), int64(c.TextWidth)},
		"sam_hidden_states":     {b, int64(c.SAMTokens), int64(c.SAMWidth)},
		"controlnet_cond":       {b, 3, H, W},
	}
	kv := map[string][]int64{"sam_kv": {1, c.SAMKVCost().Outputs}}
	for k, v := range den {
		if k != "sam_hidden_states" {
			kv[k] = v
		}
	}
	return map[string]map[string][]int64{
		FileDenoiser:  den,
		FileDenoiserK: kv,
		FileDecoder:   {"latent": {1, lat, int64(h), int64(w)}},
		FileEncoder:   {"image": {1, 3, H, W}},
		FileSAM:       nil,
		FileSAMKV:     {"sam_hidden_states": {1, int64(c.SAMTokens), int64(c.SAMWidth)}},
	}
}

// ClosedForm returns the closed-form cost of each graph file at batch B on a latent of h x w.
func (c Config) ClosedForm(B, h, w int) map[string]Cost {
	unet, cn := c.DenoiserCost(B, h, w)
	kv := c.SAMKVCost()
	den := unet.Plus(cn)
	denKV := Cost{Params: den.Params - kv.Params, MACs: den.MACs - int64(B)*kv.MACs}
	return map[string]Cost{
		FileDenoiser: den, FileDenoiserK: denKV, FileDecoder: c.VAEDecoderCost(h, w),
		FileEncoder: c.VAEEncoderCost(8*h, 8*w), FileSAM: c.SAMCost(), FileSAMKV: kv.Cost,
	}
}

// PrintCounts prints, for each graph of the bundle in dir, its parameters and MACs at batch 1 on
// a 512x512 frame (64x64 latent), counted from the graph and in closed form.
func PrintCounts(w io.Writer, dir string, c Config, kv bool) error {
	files := []string{FileSAM, FileDenoiser, FileDecoder, FileEncoder}
	if kv {
		files = append(files, FileSAMKV, FileDenoiserK)
	}
	shapes, closed := c.Shapes(1, 64, 64), c.ClosedForm(1, 64, 64)
	fmt.Fprintf(w, "%-18s %15s %15s %12s %12s  (batch 1, 512x512 frame; SAM at %d px)\n", "graph", "params (graph)", "params (closed)", "GMAC (graph)", "GMAC (closed)", c.SAM.Size)
	for _, f := range files {
		got, unc, err := GraphCost(filepath.Join(dir, f), shapes[f])
		if err != nil {
			return err
		}
		note := ""
		if unc > 0 {
			note = fmt.Sprintf("  (%d nodes uncounted)", unc)
		}
		want := closed[f]
		fmt.Fprintf(w, "%-18s %15d %15d %12.1f %12.1f%s\n", f, got.Params, want.Params, float64(got.MACs)/1e9, float64(want.MACs)/1e9, note)
	}
	unet, cn := c.DenoiserCost(1, 64, 64)
	fmt.Fprintf(w, "denoiser: UNet %.3f B + ControlNet %.3f B parameters\n", float64(unet.Params)/1e9, float64(cn.Params)/1e9)
	return nil
}
