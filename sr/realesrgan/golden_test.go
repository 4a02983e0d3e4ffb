package realesrgan

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
)

var keepOutputs = flag.String("keep", "", "write every golden test's output PNG into this directory")

// goldenEntry is one [section] of shared/golden/MANIFEST.txt.
type goldenEntry struct {
	name    string // the section title
	lr, x4  string // file names
	cpufp32 string // file name of the CPU fp32 reference ("" if none)
	model   string
	tile    int
}

// parseManifest reads the entries of a golden MANIFEST.txt: sections "[title]" followed by
// "key: value" lines, of which lr_file, x4_file, model, tile and cpufp32_ref are used.
func parseManifest(path string) ([]goldenEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var entries []goldenEntry
	var cur *goldenEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		// A section title starts the line and has no spaces (header lines quote "[0 llvmpipe ...]").
		if strings.HasPrefix(raw, "[") && strings.HasSuffix(text, "]") && !strings.ContainsAny(text, " \t") {
			entries = append(entries, goldenEntry{name: strings.Trim(text, "[]")})
			cur = &entries[len(entries)-1]
			continue
		}
		key, val, ok := strings.Cut(text, ":")
		if cur == nil || !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch strings.TrimSpace(key) {
		case "lr_file":
			cur.lr = fields[0]
		case "x4_file":
			cur.x4 = fields[0]
		case "cpufp32_ref":
			cur.cpufp32 = fields[0]
		case "model":
			cur.model = fields[0]
		case "tile":
			if fields[0] != "-t" || len(fields) < 2 {
				return nil, fmt.Errorf("%s:%d: tile %q: want \"-t N ...\"", path, line, val)
			}
			if cur.tile, err = strconv.Atoi(fields[1]); err != nil {
				return nil, fmt.Errorf("%s:%d: tile: %v", path, line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.lr == "" || e.x4 == "" || e.model == "" || e.tile <= 0 {
			return nil, fmt.Errorf("%s: entry [%s] lacks lr_file, x4_file, model or tile", path, e.name)
		}
	}
	return entries, nil
}

// TestGolden runs every MANIFEST.txt entry through its model with the entry's tile size and
// compares with realesrgan-ncnn-vulkan's output (fp16 storage on lavapipe): PSNR >= 45 dB. The
// PSNR against the CPU fp32 ncnn reference is logged (and must be at least as good).
func TestGolden(t *testing.T) {
	dir := goldenDir(t)
	entries, err := parseManifest(filepath.Join(dir, "MANIFEST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("MANIFEST.txt has no entries")
	}
	for _, e := range entries {
		t.Run(e.name, func(t *testing.T) {
			if !IsModel(e.model) || strings.HasSuffix(e.model, ".onnx") {
				t.Fatalf("unknown model %q", e.model)
			}
			b := openNamed(t, e.model)
			lr := loadPNG(t, filepath.Join(dir, e.lr))
			want := loadPNG(t, filepath.Join(dir, e.x4))
			if want.Size() != lr.Size().Mul(4) {
				t.Fatalf("golden is %v for a %v input", want.Size(), lr.Size())
			}
			start := time.Now()
			got := upscale(t, b, lr, e.tile, want.Size())
			elapsed := time.Since(start)
			if *keepOutputs != "" {
				savePNG(t, filepath.Join(*keepOutputs, e.x4), got)
			}
			psnr := frame.PSNR(got, want)
			msg := fmt.Sprintf("%s %v -t %d: PSNR %.2f dB (max diff %d) vs %s", e.model, lr.Size(), e.tile, psnr, maxDiff(got, want), e.x4)
			if e.cpufp32 != "" {
				ref := loadPNG(t, filepath.Join(dir, e.cpufp32))
				p32 := frame.PSNR(got, ref)
				msg += fmt.Sprintf("; %.2f dB (max diff %d) vs %s", p32, maxDiff(got, ref), e.cpufp32)
				if p32 < psnr {
					t.Errorf("closer to the fp16 golden than to the fp32 reference: %.2f < %.2f dB", p32, psnr)
				}
			}
			t.Logf("%s; %v", msg, elapsed.Round(time.Millisecond))
			if psnr < 45 {
				t.Errorf("PSNR %.2f dB < 45", psnr)
			}
		})
	}
}

func TestParseManifest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "MANIFEST.txt")
	text := `header: ignored

[a_x4.png]
lr_file:     a_lr.png  sha256=00  160x90 rgb24
x4_file:     a_x4.png  sha256=11  640x360 rgb24
model:       realesrgan-x4fast (scale 4)
tile:        -t 200  -> 1x1 tiles (prepadding 10 LR px, reflect)
cpufp32_ref: a_x4-cpufp32.png  sha256=22  cmd: x

[b_x4.png]
lr_file:     b_lr.png
x4_file:     b_x4.png
model:       realesrgan-x4plus (scale 4)
tile:        -t 64
`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := parseManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", got); s != "[{name:a_x4.png lr:a_lr.png x4:a_x4.png cpufp32:a_x4-cpufp32.png model:realesrgan-x4fast tile:200} {name:b_x4.png lr:b_lr.png x4:b_x4.png cpufp32: model:realesrgan-x4plus tile:64}]" {
		t.Fatalf("got %s", s)
	}
	if err := os.WriteFile(path, []byte("[c]\nlr_file: c.png\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseManifest(path); err == nil {
		t.Fatal("incomplete entry accepted")
	}
}
