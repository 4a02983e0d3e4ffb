package mediatest

import (
	"image"
	"image/png"
	"os"
	"testing"
)

// ReadPNG decodes a PNG file, failing the test on error.
func ReadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
