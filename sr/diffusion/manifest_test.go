package diffusion

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// editBundle writes a fresh oracle bundle and applies edit to its manifest (as generic JSON).
func editBundle(t *testing.T, o oracle.Options, edit func(m map[string]any)) string {
	t.Helper()
	dir := t.TempDir()
	if err := oracle.Write(dir, o); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ManifestName)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func ioList(m map[string]any, role, side string) []any {
	return m["graphs"].(map[string]any)[role].(map[string]any)[side].([]any)
}

func ioAt(m map[string]any, role, side string, i int) map[string]any {
	return ioList(m, role, side)[i].(map[string]any)
}

// TestManifestStatic checks the manifest on its own: every problem is listed.
func TestManifestStatic(t *testing.T) {
	dir := editBundle(t, oracle.Options{}, func(m map[string]any) {
		m["latent_channels"] = 4
		delete(m["graphs"].(map[string]any), "sam_encoder")
		m["graphs"].(map[string]any)["vae_encoder"].(map[string]any)["file"] = "gone.onnx"
		den := m["graphs"].(map[string]any)["denoiser"].(map[string]any)
		den["inputs"] = ioList(m, "denoiser", "inputs")[:4] // no cond
		m["scheduler"].(map[string]any)["beta_end"] = 0.02
		m["embeddings"].(map[string]any)["negative"].(map[string]any)["shape"] = []int{1, 77, 768}
	})
	_, err := LoadManifest(dir)
	if !errors.Is(err, ErrBundle) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		"graphs: sam_encoder missing",
		"vae_encoder: file:",
		`denoiser: input "cond" ([B,3,8h,8w] condition image in [0,1]) missing`,
		"scheduler",
		"embeddings: negative: negative.f32 has 315392 bytes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// Sizes that disagree between graphs are caught once the roles are all there.
	dir = editBundle(t, oracle.Options{}, func(m map[string]any) {
		m["latent_channels"] = 4
		ioAt(m, "sam_encoder", "outputs", 0)["shape"] = []any{1, 1024, 256}
	})
	_, err = LoadManifest(dir)
	for _, want := range []string{
		"denoiser sample channels vs latent_channels: 192 vs 4",
		"denoiser sam tokens vs sam_encoder: 4096 vs 1024",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestManifestAgainstGraphs opens graphs whose manifest lies about them: Open names each mismatch.
func TestManifestAgainstGraphs(t *testing.T) {
	ort.TestLoad(t)
	dir := editBundle(t, oracle.Options{}, func(m map[string]any) {
		ioAt(m, "denoiser", "inputs", 0)["dtype"] = "float16"
		ioAt(m, "vae_decoder", "inputs", 0)["name"] = "z"
		ioAt(m, "vae_decoder", "inputs", 0)["role"] = "latent"
		ioAt(m, "sam_encoder", "inputs", 0)["shape"] = []any{1, 3, 512, 512}
		ioAt(m, "denoiser", "inputs", 1)["dtype"] = "float32"
		ioAt(m, "denoiser", "inputs", 2)["shape"] = []any{2, 77, 1024}
		ioAt(m, "denoiser", "outputs", 0)["shape"] = []any{"B", 192, "h", 64}
	})
	_, err := Open(dir, Config{Runtime: ort.Runtime{Device: ort.DeviceCPU}})
	if !errors.Is(err, ErrBundle) {
		t.Fatalf("err = %v", err)
	}
	// A fixed size in the manifest over a dynamic graph dim is fine (batch 2, width 64).
	for _, bad := range []string{"encoder_hidden_states", "noise_pred"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error names %s:\n%v", bad, err)
		}
	}
	for _, want := range []string{
		`denoiser (denoiser.onnx): input "sample": manifest dtype float16, graph float32`,
		`vae_decoder (vae_decoder.onnx): graph input "latent" (float32[1 192 -1 -1]) is not in the manifest`,
		`vae_decoder (vae_decoder.onnx): manifest input "z" is not in the graph (graph inputs: "latent")`,
		`sam_encoder (sam2_encoder.onnx): input "image": manifest shape [1,3,512,512], graph [1 3 1024 1024]: dim 2 is 1024, not 512; dim 3 is 1024, not 512`,
		`denoiser (denoiser.onnx): input "timestep": manifest dtype float32, graph int64`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestOracleGraphsKeepInputs checks that ONNX Runtime reports every declared denoiser input,
// including the text and SAM contexts the oracle ignores.
func TestOracleGraphsKeepInputs(t *testing.T) {
	ort.TestLoad(t)
	dir := oracleBundle(t, oracle.Options{})
	ins, outs, err := ort.Inspect(ort.Model{Path: filepath.Join(dir, "denoiser.onnx")})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	want := []string{"sample", "timestep", "encoder_hidden_states", "sam_hidden_states", "controlnet_cond"}
	if !slices.Equal(names, want) || len(outs) != 1 || outs[0].Name != "noise_pred" {
		t.Errorf("inputs %v outputs %v", names, outs)
	}
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckGraphs(m); err != nil {
		t.Error(err)
	}
}

func TestTokenizer(t *testing.T) {
	dir := t.TempDir()
	vocab := map[string]int{"<|startoftext|>": 100, "<|endoftext|>": 101, "!": 0, "!</w>": 1,
		"h": 2, "e": 3, "l": 4, "o": 5, "o</w>": 6, "w": 7, "r": 8, "d</w>": 9,
		"he": 10, "ll": 11, "hell": 12, "hello</w>": 13, "or": 14, "ld</w>": 15, "wor": 16, "world</w>": 17, "d": 18, "&</w>": 19}
	b, _ := json.Marshal(vocab)
	os.WriteFile(filepath.Join(dir, "vocab.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\no r\nl d</w>\nw or\nwor ld</w>\n"), 0o644)
	m := &Manifest{dir: dir, Tokenizer: &TokenizerSpec{Vocab: "vocab.json", Merges: "merges.txt", MaxLength: 8, BOS: 100, EOS: 101, Pad: 0}}
	tok, err := loadTokenizer(m)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.encode("  Hello   World!&amp; ")
	if err != nil {
		t.Fatal(err)
	}
	// "hello world!&": hello</w>, world</w>, then "!&" is one punctuation run: "!" and "&</w>".
	if !slices.Equal(ids, []int64{100, 13, 17, 0, 19, 101, 0, 0}) {
		t.Errorf("ids %v", ids)
	}
	if _, err := tok.encode("x"); err == nil {
		t.Error("unknown symbol accepted")
	}
	ids, err = tok.encode("hello world hello world hello world hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 8 || ids[0] != 100 || ids[7] != 101 {
		t.Errorf("truncation: %v", ids)
	}
	ids, _ = tok.encode("hello!")
	if !slices.Equal(ids, []int64{100, 13, 1, 101, 0, 0, 0, 0}) {
		t.Errorf("padding: %v", ids)
	}
}

// TestManifestRoundTrip writes a loaded manifest back and loads it again.
func TestManifestRoundTrip(t *testing.T) {
	dir := editBundle(t, oracle.Options{}, func(map[string]any) {})
	m, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	m2, err := LoadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := m2.Graphs[GraphDenoiser].io("sample", false)
	if shapeString(s.Shape) != "[B,192,h,w]" || m2.LatentScale != oracle.LatentScale || m2.Scheduler != DefaultScheduler {
		t.Errorf("round trip: %s %+v", shapeString(s.Shape), m2)
	}
}
