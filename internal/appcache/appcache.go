// Package appcache locates ugcsr's cache directory, where setup puts the ONNX Runtime library and
// the models and where converted models are kept.
package appcache

import (
	"os"
	"path/filepath"
)

// Env names the variable that overrides Dir's default.
const Env = "UGCSR_CACHE"

// Dir returns $UGCSR_CACHE, else ~/.cache/ugcsr, else (no home directory) ugcsr-cache in the
// temporary directory.
func Dir() string {
	if d := os.Getenv(Env); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ugcsr-cache")
	}
	return filepath.Join(home, ".cache", "ugcsr")
}
