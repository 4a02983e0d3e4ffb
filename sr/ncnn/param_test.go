package ncnn

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// paramErrorCases are malformed or unsupported .param files, each with a fragment of the error.
var paramErrorCases = []struct {
	name, param, err string
}{
	{"empty", "", "missing magic"},
	{"bad magic", "7767518\n1 1\nInput in 0 1 data\n", "magic"},
	{"binary param", "\xdd\x81\x76\x00", "magic"},
	{"no counts", "7767517\n", "missing layer and blob counts"},
	{"counts not numbers", "7767517\na b\n", "bad counts"},
	{"zero counts", "7767517\n0 0\n", "bad counts"},
	{"huge counts", "7767517\n999999999 1\n", "bad counts"},
	{"three counts", "7767517\n1 1 1\n", "layer_count blob_count"},
	{"fewer layers", "7767517\n2 1\nInput in 0 1 data\n", "declares 2 layers, has 1"},
	{"more layers", "7767517\n1 2\nInput in 0 1 data\nSplit s 1 1 data d\n", "more than the 1 layers"},
	{"blob count", "7767517\n1 2\nInput in 0 1 data\n", "declares 2 blobs, has 1"},
	{"too many blobs", paramHdr(2, 1, "Input in 0 1 data", "Split s 1 1 data d"), "more blobs than the 1"},
	{"short line", paramHdr(1, 1, "Input in 0"), "want \"type name"},
	{"bad bottom count", paramHdr(1, 1, "Input in x 1 data"), "bad blob counts"},
	{"counts past fields", paramHdr(1, 1, "Input in 0 5 data"), "bad blob counts"},
	{"negative count", paramHdr(1, 1, "Input in 0 -1 data"), "bad blob counts"},
	{"param as blob", paramHdr(1, 2, "Input in 0 2 data 0=1"), "looks like a parameter"},
	{"undefined bottom", paramHdr(2, 2, "Input in 0 1 data", "Split s 1 1 nope d"), `input blob "nope" is not produced`},
	{"duplicate top", paramHdr(2, 1, "Input in 0 1 data", "Split s 1 1 data data"), `already produced by layer 0`},
	{"unknown layer", paramHdr(2, 2, "Input in 0 1 data", "Pooling pool 1 1 data p 0=1"), `layer 1 "pool" (Pooling): unsupported layer type`},
	{"unsupported param", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=1 6=3 8=1"), "unsupported parameter 8"},
	{"not k=v", paramHdr(1, 1, "Input in 0 1 data 0"), `parameter "0" is not k=v`},
	{"bad id", paramHdr(1, 1, "Input in 0 1 data x=1"), "bad id"},
	{"id out of range", paramHdr(1, 1, "Input in 0 1 data 40=1"), "id out of range"},
	{"array id out of range", paramHdr(1, 1, "Input in 0 1 data -23340=1,1.0"), "id out of range"},
	{"negative id", paramHdr(1, 1, "Input in 0 1 data -5=1"), "id out of range"},
	{"duplicate id", paramHdr(1, 1, "Input in 0 1 data 0=1 0=2"), "given twice"},
	{"bad int", paramHdr(1, 1, "Input in 0 1 data 0=abc"), `bad int "abc"`},
	{"int overflow", paramHdr(1, 1, "Input in 0 1 data 0=99999999999"), "bad int"},
	{"bad float", paramHdr(1, 1, "Input in 0 1 data 0=1.2.3"), `bad float "1.2.3"`},
	{"inf float", paramHdr(1, 1, "Input in 0 1 data 0=1e999"), "bad float"},
	{"array length", paramHdr(2, 2, "Input in 0 1 data", "Eltwise e 2 1 data data o 0=1 -23301=3,1.0,1.0"), "does not match 2 elements"},
	{"array huge length", paramHdr(1, 1, "Input in 0 1 data -23301=99999999"), "does not match"},
	{"float param given as int", paramHdr(2, 2, "Input in 0 1 data", "Interp i 1 1 data o 0=1 1=2 2=2"), "must be a float"},
	{"int param given as float", paramHdr(2, 2, "Input in 0 1 data", "PReLU p 1 1 data o 0=1.0"), "must be an int"},
	{"array for scalar", paramHdr(2, 2, "Input in 0 1 data", "PReLU p 1 1 data o -23300=1,1"), "must be an int"},
	{"weights not multiple", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=4 1=3 6=100"), "not a multiple"},
	{"zero kernel", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=4 1=0 6=100"), "kernel_w = 0"},
	{"no weights", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=4 1=1"), "weight_data_size = 0"},
	{"auto pad", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=3 4=-233 6=27"), "unsupported automatic padding -233"},
	{"activation 5", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=1 6=3 9=5"), "unsupported activation_type 5"},
	{"leaky without slope", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=1 6=3 9=2"), "needs 1 activation params"},
	{"activation params ints", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=1 6=3 9=2 -23310=1,0"), "element 0 must be a float"},
	{"conv two inputs", paramHdr(2, 2, "Input in 0 1 data", "Convolution c 2 1 data data o 0=1 1=1 6=3"), "2 inputs and 1 outputs"},
	{"input with bottom", paramHdr(2, 2, "Input in 0 1 data", "Input in2 1 1 data o"), "1 inputs and 1 outputs"},
	{"bicubic", paramHdr(2, 2, "Input in 0 1 data", "Interp i 1 1 data o 0=3 1=2.0 2=2.0"), "unsupported resize_type 3"},
	{"interp size", paramHdr(2, 2, "Input in 0 1 data", "Interp i 1 1 data o 0=1 3=10 4=10"), "unsupported fixed or dynamic output size"},
	{"interp scale", paramHdr(2, 2, "Input in 0 1 data", "Interp i 1 1 data o 0=1 1=0.0 2=2.0"), "out of range"},
	{"binaryop op", paramHdr(2, 2, "Input in 0 1 data", "BinaryOp b 2 1 data data o 0=9"), "op_type = 9"},
	{"binaryop scalar arity", paramHdr(2, 2, "Input in 0 1 data", "BinaryOp b 2 1 data data o 0=0 1=1 2=1.0"), "2 inputs and 1 outputs"},
	{"eltwise coeff count", paramHdr(2, 2, "Input in 0 1 data", "Eltwise e 2 1 data data o 0=1 -23301=1,1.0"), "1 coefficients for 2 inputs"},
	{"eltwise coeff prod", paramHdr(2, 2, "Input in 0 1 data", "Eltwise e 2 1 data data o 0=0 -23301=2,1.0,1.0"), "only allowed with op_type 1"},
	{"pixelshuffle 0", paramHdr(2, 2, "Input in 0 1 data", "PixelShuffle p 1 1 data o 0=0"), "upscale_factor = 0"},
	{"concat axis", paramHdr(2, 2, "Input in 0 1 data", "Concat c 1 1 data o 0=3"), "axis = 3"},
	{"long line", "7767517\n1 1\nInput in 0 1 data " + strings.Repeat("x", 2<<20) + "\n", "longer than 1048576 bytes"},
}

// paramHdr is paramText with explicit (possibly wrong) counts.
func paramHdr(layers, blobs int, lines ...string) string {
	return fmt.Sprintf("%d\n%d %d\n%s\n", Magic, layers, blobs, strings.Join(lines, "\n"))
}

func TestParseParamErrors(t *testing.T) {
	for _, c := range paramErrorCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseParam(strings.NewReader(c.param))
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrFormat) {
				t.Fatalf("error = %v, want ErrFormat containing %q", err, c.err)
			}
			if strings.Contains(c.err, "unsupported") != errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v", errors.Is(err, ErrUnsupported))
			}
		})
	}
}

// convertErrorCases parse, but do not form a graph Convert accepts.
var convertErrorCases = []struct {
	name, param, err string
}{
	{"conv channels", paramText("Input in 0 1 data", "Convolution c 1 1 data o 0=1 1=1 6=4"), "1x1 conv 4->1 on a 3-channel input"},
	{"prelu slopes", paramText("Input in 0 1 data", "PReLU p 1 1 data o 0=2"), "2 slopes for 3 channels"},
	{"pixelshuffle channels", paramText("Input in 0 1 data", "PixelShuffle p 1 1 data o 0=2"), "3 channels do not divide by upscale_factor² = 4"},
	{"eltwise channels", paramText("Input in 0 1 data", "Split s 1 2 data a b", "Convolution c 1 1 a a2 0=2 1=1 6=6", "Eltwise e 2 1 a2 b o 0=1"), "input 1 has 3 channels, input 0 has 2"},
	{"two inputs", paramText("Input in 0 1 data", "Input in2 0 1 data2", "Concat c 2 1 data data2 o"), "2 Input layers"},
	{"two outputs", paramText("Input in 0 1 data", "Split s 1 2 data a b", "PReLU p 1 1 a o1 0=1", "PReLU q 1 1 b o2 0=1"), `have ["o1" "o2"]`},
}

func TestConvertErrors(t *testing.T) {
	for _, c := range convertErrorCases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ParseParam(strings.NewReader(c.param))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.LoadBin(bytes.NewReader(makeBin(t, n, true, 1, nil))); err != nil {
				t.Fatal(err)
			}
			_, err = Convert(n)
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrFormat) {
				t.Fatalf("error = %v, want ErrFormat containing %q", err, c.err)
			}
		})
	}

	n, err := ParseParam(strings.NewReader(esrganNet))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Convert(n); err == nil || !strings.Contains(err.Error(), "call LoadBin first") {
		t.Errorf("Convert without LoadBin: error = %v", err)
	}
}

// TestRealModels parses the shipped models, loads their weights and reports which layers and
// parameters they use.
func TestRealModels(t *testing.T) {
	dir := testModelDir(t)
	cases := []struct {
		name            string
		layers, convs   int
		scale           int
		wantLayerCounts string
	}{
		{"realesrgan-x4fast", 72, 34, 4, "BinaryOp:1 Convolution:34 Input:1 Interp:1 PReLU:33 PixelShuffle:1 Split:1"},
		{"realesrgan-x4plus", 999, 351, 4, "BinaryOp:1 Concat:276 Convolution:351 Eltwise:92 Input:1 Interp:2 Split:276"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ReadFiles(filepath.Join(dir, c.name+".param"), filepath.Join(dir, c.name+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]int{}
			params := map[string]map[string]bool{}
			for _, l := range n.Layers {
				types[l.Type]++
				if params[l.Type] == nil {
					params[l.Type] = map[string]bool{}
				}
				for id, p := range l.Params {
					k := fmt.Sprint(id)
					if p.Array {
						k = fmt.Sprint(-23300 - id)
					}
					params[l.Type][k] = true
				}
			}
			var summary, detail []string
			for typ, cnt := range types {
				summary = append(summary, fmt.Sprintf("%s:%d", typ, cnt))
				var ids []string
				for id := range params[typ] {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				detail = append(detail, fmt.Sprintf("%s %v", typ, ids))
			}
			sort.Strings(summary)
			sort.Strings(detail)
			t.Logf("layers: %s", strings.Join(summary, " "))
			t.Logf("params: %s", strings.Join(detail, "; "))
			if got := strings.Join(summary, " "); got != c.wantLayerCounts {
				t.Errorf("layers %s, want %s", got, c.wantLayerCounts)
			}
			if len(n.Layers) != c.layers || n.Fp16Weights != c.convs {
				t.Errorf("%d layers, %d fp16 weight blobs; want %d, %d", len(n.Layers), n.Fp16Weights, c.layers, c.convs)
			}
			if s, err := n.Scale(); s != c.scale || err != nil {
				t.Errorf("Scale() = %d, %v", s, err)
			}
		})
	}
}

// TestModelDirCache: without $UGCSR_MODELS_DIR the models are looked up in $UGCSR_CACHE.
func TestModelDirCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("UGCSR_MODELS_DIR", "")
	t.Setenv("UGCSR_CACHE", cache)
	d := filepath.Join(cache, "upscayl/package/dist/upscaler/sub-classes/model-manager/models")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "realesrgan-x4fast.param"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ModelDir(); got != filepath.FromSlash(d) {
		t.Errorf("ModelDir() = %q, want %q", got, d)
	}
	t.Setenv("UGCSR_CACHE", t.TempDir()) // set and empty: ~/.cache/ugcsr is not consulted
	if got := ModelDir(); got != "" {
		t.Errorf("empty cache: ModelDir() = %q, want none", got)
	}
}

func TestModelDirEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv("UGCSR_MODELS_DIR", d)
	if err := os.WriteFile(filepath.Join(d, "realesrgan-x4fast.param"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := ModelDir(); got != d {
		t.Errorf("ModelDir() = %q, want %q", got, d)
	}
}
