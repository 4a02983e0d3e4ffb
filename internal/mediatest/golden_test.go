package mediatest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

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
	got, err := ParseManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v", got); s != "[{Name:a_x4.png LR:a_lr.png X4:a_x4.png CPUFP32:a_x4-cpufp32.png Model:realesrgan-x4fast Tile:200} {Name:b_x4.png LR:b_lr.png X4:b_x4.png CPUFP32: Model:realesrgan-x4plus Tile:64}]" {
		t.Fatalf("got %s", s)
	}
	if err := os.WriteFile(path, []byte("[c]\nlr_file: c.png\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseManifest(path); err == nil {
		t.Fatal("incomplete entry accepted")
	}
}
