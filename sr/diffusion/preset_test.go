package diffusion

import (
	"context"
	"encoding/binary"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
)

// TestPresets: the published runs' settings (run.sh): wild = guidance 8.5 and the long added
// prompt; synthetic = guidance 0.9 (CFG off) and "clean, high-resolution, 8k". Without a preset,
// scale 1 is wild and any other scale synthetic; a given guidance overrides the preset's.
func TestPresets(t *testing.T) {
	if g := PresetWild.Guidance(); g != 8.5 {
		t.Errorf("wild guidance %v", g)
	}
	if g := PresetSynthetic.Guidance(); g != 0.9 {
		t.Errorf("synthetic guidance %v", g)
	}
	if p := PresetWild.AddedPrompt(); p != "clean, high-resolution, 8k, ultra-detailed, ultra-realistic" {
		t.Errorf("wild added prompt %q", p)
	}
	if p := PresetSynthetic.AddedPrompt(); p != "clean, high-resolution, 8k" {
		t.Errorf("synthetic added prompt %q", p)
	}
	b := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1}})
	bx := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1, Preset: PresetWild}})
	bg := openOracle(t, oracle.Options{}, Config{Options: Options{Steps: 2, Seed: 1, Guidance: 3}})
	in := image.Pt(128, 96)
	for _, c := range []struct {
		b      *Backend
		out    image.Point
		preset Preset
		batch  int
	}{
		{b, in, PresetWild, 2},
		{b, in.Mul(4), PresetSynthetic, 1},
		{b, in.Mul(2), PresetSynthetic, 1},
		{bx, in.Mul(4), PresetWild, 2},
		{bg, in.Mul(4), PresetSynthetic, 2},
	} {
		u, err := c.b.newUpscaler(sr.Spec{In: in, Out: c.out})
		if err != nil {
			t.Fatal(err)
		}
		if u.opt.Preset != c.preset || u.batch != c.batch {
			t.Errorf("%v -> %v (preset %q, guidance %v): preset %q, batch %d; want %q, %d",
				in, c.out, c.b.cfg.Preset, c.b.cfg.Guidance, u.opt.Preset, u.batch, c.preset, c.batch)
		}
		// The positive context is the preset's own embedding file, read here directly.
		src := frame.New(in.X, in.Y)
		sc, err := u.computeConsts(context.Background(), src, u.cond)
		if err != nil {
			t.Fatal(err)
		}
		want := readF32(t, filepath.Join(oracleBundle(t, oracle.Options{}), "positive_"+string(c.preset)+".f32"))
		neg := readF32(t, filepath.Join(oracleBundle(t, oracle.Options{}), "negative.f32"))
		if !equalF32(sc.text.pos, want) || !equalF32(sc.text.neg, neg) {
			t.Errorf("%v -> %v: text contexts are not the negative and the %s embeddings", in, c.out, c.preset)
		}
		u.Close()
	}
}

// TestPresetPromptWithTextEncoder: with a text encoder the positive prompt ends with the preset's
// added prompt from the manifest.
func TestPresetPromptWithTextEncoder(t *testing.T) {
	b := openOracle(t, oracle.Options{Kind: oracle.Linear4, Text: true}, Config{Options: Options{Steps: 2, Seed: 1, Guidance: 1}})
	for _, c := range []struct {
		out  image.Point
		want string
	}{
		{image.Pt(64, 64), ", ,clean, high-resolution, 8k, ultra-detailed, ultra-realistic"},
		{image.Pt(256, 256), ", ,clean, high-resolution, 8k"},
	} {
		u, err := b.newUpscaler(sr.Spec{In: image.Pt(64, 64), Out: c.out})
		if err != nil {
			t.Fatal(err)
		}
		tc, err := u.textContext(context.Background(), frame.New(64, 64))
		if err != nil {
			t.Fatal(err)
		}
		// A black frame has no tags (the oracle tagger tags a channel whose mean exceeds 0.5).
		if tc.prompt != c.want {
			t.Errorf("64x64 -> %v: prompt %q, want %q", c.out, tc.prompt, c.want)
		}
		u.Close()
	}
}

// TestManifestNeedsEveryPreset: a bundle without one preset's positive embedding is refused.
func TestManifestNeedsEveryPreset(t *testing.T) {
	dir := editBundle(t, oracle.Options{}, func(m map[string]any) {
		delete(m["embeddings"].(map[string]any), "positive_synthetic")
	})
	if _, err := LoadManifest(dir); err == nil {
		t.Fatal("bundle without positive_synthetic accepted")
	} else if want := "embeddings: positive_synthetic missing"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// TestEncodeWhole720p: the lr start of a 1280x720 frame at scale 1 is encoded in one VAE run, as
// the reference's tiled VAE (GroupNorm statistics over the whole image) effectively does.
func TestEncodeWhole720p(t *testing.T) {
	b := goBackend(t, Config{Options: Options{Steps: 1, Seed: 1, StartPoint: StartLR, Guidance: 1}})
	u := newTestUpscaler(t, b, 1280, 720)
	run1(t, u, testFrame(1280, 720, 3))
	if n := b.n.vaeEnc.Load(); n != 1 {
		t.Errorf("vae_encoder_runs = %d for one 1280x720 frame, want 1", n)
	}
	if n := len(windows(246, encTile, encPad)); n != 1 {
		t.Errorf("a 1968-pixel side is encoded in %d windows, want 1", n)
	}
	if n := len(windows(247, encTile, encPad)); n != 2 {
		t.Errorf("a 1976-pixel side is encoded in %d windows, want 2", n)
	}
}

// TestLatentFP16 measures what keeping the latent in fp16 between steps (as the reference does
// with an fp16 UNet) changes against float32 latents, on the fp16 lossless oracle, and checks that
// the stored latent really is fp16.
func TestLatentFP16(t *testing.T) {
	b := openOracle(t, oracle.Options{FP16: true}, Config{Options: Options{Steps: 4, Seed: 1, Guidance: 1}})
	src := testFrame(256, 256, 5)
	run := func(half bool) []float32 {
		u, err := b.newUpscaler(sr.Spec{In: src.Size(), Out: src.Size()})
		if err != nil {
			t.Fatal(err)
		}
		defer u.Close()
		if !u.halfX {
			t.Fatal("fp16 denoiser, latent not kept in fp16")
		}
		u.halfX = half
		var stored []float32
		u.hooks = &hooks{afterStep: func(i, t int, x []float32) { stored = append(stored[:0], x...) }}
		dst := frame.New(src.W, src.H)
		if err := u.Upscale(context.Background(), []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
			t.Fatal(err)
		}
		if half {
			for i, v := range stored {
				if h := fp16Round(v); h != v {
					t.Fatalf("latent[%d] = %v is not an fp16 value (%v)", i, v, h)
				}
			}
		}
		return dst.Pix
	}
	half, full := run(true), run(false)
	p := psnr(half, full)
	t.Logf("fp16 latents vs float32 latents: %.1f dB; vs the input: %.1f / %.1f dB", p, psnr(half, src.Pix), psnr(full, src.Pix))
	if !(p >= 60) {
		t.Errorf("fp16 vs float32 latents: %.1f dB < 60", p)
	}
}

// fp16Round rounds to the nearest float16 by hand: 10 mantissa bits for normal numbers.
func fp16Round(v float32) float32 {
	if v == 0 {
		return 0
	}
	e := math.Floor(math.Log2(math.Abs(float64(v))))
	e = math.Max(e, -14) // subnormals share the smallest exponent
	q := math.Ldexp(1, int(e)-10)
	return float32(math.RoundToEven(float64(v)/q) * q)
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
