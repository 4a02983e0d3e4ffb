package diffusion

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
)

// FuzzLoadManifest: any manifest.json gives a manifest or an ErrBundle error, never a panic.
// Seeded with the oracle bundle's own manifest, which loads.
func FuzzLoadManifest(f *testing.F) {
	dir := f.TempDir()
	if err := oracle.Write(dir, oracle.Options{}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(`{"graphs":{"denoiser":{"inputs":[{"shape":[-1,0,99999999999]}]}}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, ManifestName)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := LoadManifest(dir)
		if err == nil && m == nil {
			t.Fatal("no manifest and no error")
		}
	})
}
