package synthetic

import "fmt"

// Config is the architecture of a synthetic bundle. Full is the published one; Reduced keeps every
// block and divides the widths, so that a test runs it in seconds.
type Config struct {
	// Name is written into the manifest.
	Name string
	// Channels are the UNet's (and ControlNet's) block widths; Heads the attention heads per block
	// (SD2-base: 5, 10, 20, 20 of width 64). Layers is the ResNets per down block (up blocks have
	// one more).
	Channels, Heads []int
	Layers          int
	// Groups is the GroupNorm group count of the UNet and the VAE.
	Groups int
	// TextLen x TextWidth is the text context; SAMTokens x SAMWidth the SAM context the denoiser
	// takes (twice the SAM encoder's width: the method concatenates the embedding with itself).
	TextLen, TextWidth, SAMTokens, SAMWidth int
	// CondChannels are the ControlNet condition embedding's widths (16, 32, 96, 256).
	CondChannels []int
	// LatentChannels is the VAE latent's (4); VAEChannels the VAE's block widths.
	LatentChannels int
	VAEChannels    []int
	// SAM is the SAM2 image encoder stand-in.
	SAM SAMConfig
}

// SAMConfig is the SAM2 Hiera-T image encoder stand-in: a patch embedding (7x7, stride 4), four
// stages of transformer blocks at strides 4, 8, 16, 32, and the FPN neck's two coarsest levels,
// whose stride-16 map is the output.
type SAMConfig struct {
	Size    int   // square input side (1024)
	Dims    []int // stage widths (96, 192, 384, 768)
	Heads   []int // stage heads (1, 2, 4, 8)
	Blocks  []int // blocks per stage (1, 2, 7, 2)
	Windows []int // window side per stage (8, 4, 16, 8; Hiera-T's 14 and 7 rounded to divide the map)
	Global  []int // blocks (counted over all stages) with global attention (5, 7, 9)
	Width   int   // the neck's width (256)
}

// Full is SeeSR's architecture: SD2-base's UNet with an image-attention transformer after every text
// transformer, its ControlNet, SD's VAE, and a SAM2 Hiera-T-sized encoder.
func Full() Config {
	return Config{
		Name:     "synthetic-seesr",
		Channels: []int{320, 640, 1280, 1280}, Heads: []int{5, 10, 20, 20}, Layers: 2, Groups: 32,
		TextLen: 77, TextWidth: 1024, SAMTokens: 4096, SAMWidth: 512,
		CondChannels:   []int{16, 32, 96, 256},
		LatentChannels: 4, VAEChannels: []int{128, 256, 512, 512},
		SAM: SAMConfig{Size: 1024, Dims: []int{96, 192, 384, 768}, Heads: []int{1, 2, 4, 8},
			Blocks: []int{1, 2, 7, 2}, Windows: []int{8, 4, 16, 8}, Global: []int{5, 7, 9}, Width: 256},
	}
}

// Reduced is Full with every width divided by 10 (UNet), 8 (VAE) and 8 (SAM), 8 groups, a 256-pixel
// SAM input (256 tokens) and a 64-wide text context: every block and operator is kept.
func Reduced() Config {
	return Config{
		Name:     "synthetic-seesr-reduced",
		Channels: []int{32, 64, 128, 128}, Heads: []int{1, 2, 4, 4}, Layers: 2, Groups: 8,
		TextLen: 77, TextWidth: 64, SAMTokens: 256, SAMWidth: 64,
		CondChannels:   []int{8, 8, 16, 32},
		LatentChannels: 4, VAEChannels: []int{16, 32, 64, 64},
		SAM: SAMConfig{Size: 256, Dims: []int{16, 32, 48, 96}, Heads: []int{1, 1, 2, 2},
			Blocks: []int{1, 2, 7, 2}, Windows: []int{8, 4, 16, 8}, Global: []int{5, 7, 9}, Width: 32},
	}
}

// check reports a configuration the graphs cannot be built from.
func (c Config) check() error {
	n := len(c.Channels)
	switch {
	case n < 2 || len(c.Heads) != n || c.Layers < 1 || c.Groups < 1:
		return fmt.Errorf("synthetic: %d channel widths, %d head counts, %d layers, %d groups", n, len(c.Heads), c.Layers, c.Groups)
	case len(c.CondChannels) != 4 || len(c.VAEChannels) != 4:
		return fmt.Errorf("synthetic: need 4 condition widths and 4 VAE widths")
	case c.SAMWidth%2 != 0:
		return fmt.Errorf("synthetic: SAM width %d is not twice the encoder's", c.SAMWidth)
	}
	for i, ch := range c.Channels {
		if ch%c.Groups != 0 || ch%c.Heads[i] != 0 {
			return fmt.Errorf("synthetic: width %d does not divide into %d groups and %d heads", ch, c.Groups, c.Heads[i])
		}
	}
	for _, ch := range c.VAEChannels {
		if ch%c.Groups != 0 {
			return fmt.Errorf("synthetic: VAE width %d does not divide into %d groups", ch, c.Groups)
		}
	}
	s := c.SAM
	if len(s.Dims) != 4 || len(s.Heads) != 4 || len(s.Blocks) != 4 || len(s.Windows) != 4 || s.Size%32 != 0 {
		return fmt.Errorf("synthetic: SAM stand-in needs 4 stages and an input side divisible by 32")
	}
	for i := range 4 {
		side := s.Size / (4 << i)
		if side%s.Windows[i] != 0 || s.Dims[i]%s.Heads[i] != 0 {
			return fmt.Errorf("synthetic: SAM stage %d: window %d does not divide %d, or %d heads do not divide %d", i, s.Windows[i], side, s.Heads[i], s.Dims[i])
		}
	}
	if (s.Size/16)*(s.Size/16) != c.SAMTokens || 2*s.Width != c.SAMWidth {
		return fmt.Errorf("synthetic: SAM encoder gives %d tokens of %d, the denoiser takes %d of %d/2", (s.Size/16)*(s.Size/16), s.Width, c.SAMTokens, c.SAMWidth)
	}
	return nil
}
