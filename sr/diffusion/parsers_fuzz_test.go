package diffusion

import (
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
)

// The option parsers and the tokenizer, fuzzed (make fuzz): no input panics, and what parses is
// one of the values the parser names.

func FuzzParsePreset(f *testing.F) {
	for _, s := range []string{"", "wild", "synthetic", "Wild", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParsePreset(s); err == nil && p != "" && p != PresetWild && p != PresetSynthetic {
			t.Fatalf("ParsePreset(%q) = %q", s, p)
		}
	})
}

func FuzzParseNoiseMode(f *testing.F) {
	for _, s := range []string{"", "per-frame", "per-scene", "scene"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseNoiseMode(s); err == nil && m != NoisePerFrame && m != NoisePerScene {
			t.Fatalf("ParseNoiseMode(%q) = %q", s, m)
		}
	})
}

func FuzzParseColorFix(f *testing.F) {
	for _, s := range []string{"", "adain", "wavelet", "none", "AdaIN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := parseColorFix(s); err == nil && c != ColorAdaIN && c != ColorWavelet && c != ColorNone {
			t.Fatalf("parseColorFix(%q) = %q", s, c)
		}
	})
}

// FuzzTokenizer: any prompt gives exactly max_length ids, BOS first, every id in the vocabulary
// (the oracle bundle's byte-level tokenizer).
func FuzzTokenizer(f *testing.F) {
	dir := f.TempDir()
	if err := oracle.Write(dir, oracle.Options{Text: true}); err != nil {
		f.Fatal(err)
	}
	m, err := LoadManifest(dir)
	if err != nil {
		f.Fatal(err)
	}
	tok, err := loadTokenizer(m)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "red", "clean, high-resolution, 8k", "&amp;lt;b&gt;  x\t\ny", "\xff\xfe", "ünïcödé 😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := tok.encode(s)
		if err != nil {
			return
		}
		if len(ids) != m.Tokenizer.MaxLength {
			t.Fatalf("encode(%q): %d ids, want %d", s, len(ids), m.Tokenizer.MaxLength)
		}
		for _, id := range ids {
			if id < 0 || id >= int64(len(tok.vocab)) {
				t.Fatalf("encode(%q): id %d outside the vocabulary of %d", s, id, len(tok.vocab))
			}
		}
	})
}
