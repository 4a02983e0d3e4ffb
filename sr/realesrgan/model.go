package realesrgan

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr/ncnn"
)

// ModelsDir returns where the ncnn models are read from: $UGCSR_MODELS_DIR, else upscayl's model
// directory as setup unpacks it under cacheDir ("" means appcache.Dir()).
func ModelsDir(cacheDir string) string {
	if d := os.Getenv(EnvModelsDir); d != "" {
		return d
	}
	if cacheDir == "" {
		cacheDir = appcache.Dir()
	}
	return filepath.Join(cacheDir, filepath.FromSlash(upscaylModels))
}

// convertVersion changes whenever the options Convert gives the converter change (the batch
// dimension, nodes appended), as ncnn.Version does when the converter's output changes.
const convertVersion = 1

// ConvertedPath returns where the ONNX conversion of the named model in precision (PrecisionFP32,
// PrecisionFP16 or PrecisionInt8) is cached: <cacheDir>/models/<name>.v<ncnn.Version>.<convertVersion>.<precision>.onnx,
// so a converter change never reuses a stale file; int8 models are keyed by the int8 converter's
// version and the calibration too (".int8-<ncnn.Int8Version>-<Calibration.ID>"). Converted models
// take a batch of any size.
func ConvertedPath(name, precision, cacheDir string) string {
	return convertedPath(name, precision, false, cacheDir)
}

// convertedPath is ConvertedPath, with ".resize" before ".onnx" for the form with graphResize.
func convertedPath(name, precision string, resize bool, cacheDir string) string {
	if cacheDir == "" {
		cacheDir = appcache.Dir()
	}
	suffix := ""
	if resize {
		suffix = ".resize"
	}
	if precision == PrecisionInt8 {
		id := "nocalibration"
		if c, err := calibrationFor(name); err == nil {
			id = c.ID()
		}
		precision = fmt.Sprintf("%s-%d-%s", PrecisionInt8, ncnn.Int8Version, id)
	}
	return filepath.Join(cacheDir, "models", fmt.Sprintf("%s.v%d.%d.%s%s.onnx", name, ncnn.Version, convertVersion, precision, suffix))
}

// Convert returns the path of the ONNX form of the named model (X4Fast or X4Plus) in precision
// (PrecisionFP32, PrecisionFP16, or PrecisionInt8 for X4Fast), converting <ModelsDir>/<name>.param and .bin on first use, or
// again when either is newer than the cached file. The file is written atomically (temporary file,
// then rename), so concurrent processes at worst convert twice. Missing ncnn files give an error
// wrapping ErrModelNotFound.
func Convert(name, precision, cacheDir string) (string, error) {
	return convert(name, precision, false, cacheDir)
}

// convert is Convert; with resize, the model ends with graphResize (opset 18, for Resize's
// antialias) and takes the input SizeName.
func convert(name, precision string, resize bool, cacheDir string) (string, error) {
	if name != X4Fast && name != X4Plus {
		return "", fmt.Errorf("realesrgan: convert: %q is not a known ncnn model", name)
	}
	var cal *Calibration
	switch precision {
	case PrecisionFP32, PrecisionFP16:
	case PrecisionInt8:
		if resize {
			return "", fmt.Errorf("realesrgan: convert: precision %s has no graph resize", PrecisionInt8)
		}
		var err error
		if cal, err = calibrationFor(name); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("realesrgan: convert: precision %q: want %s, %s or %s", precision, PrecisionFP32, PrecisionFP16, PrecisionInt8)
	}
	out := convertedPath(name, precision, resize, cacheDir)
	dir := ModelsDir(cacheDir)
	param, bin := filepath.Join(dir, name+".param"), filepath.Join(dir, name+".bin")
	var newest int64
	for _, p := range []string{param, bin} {
		st, err := os.Stat(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s: %v (the models directory can be set with $%s)", ErrModelNotFound, name, err, EnvModelsDir)
		}
		newest = max(newest, st.ModTime().UnixNano())
	}
	if st, err := os.Stat(out); err == nil && st.Size() > 0 && st.ModTime().UnixNano() >= newest {
		return out, nil
	}

	n, err := ncnn.ReadFiles(param, bin)
	if err != nil {
		return "", fmt.Errorf("realesrgan: convert %s: %w", name, err)
	}
	var data []byte
	if cal != nil {
		data, err = ncnn.ConvertInt8(n, cal.Int8())
	} else {
		opts := ncnn.Options{Batch: -1, FP16: precision == PrecisionFP16}
		if resize {
			scale, err := n.Scale()
			if err != nil {
				return "", fmt.Errorf("realesrgan: convert %s: %w", name, err)
			}
			opts.Opset, opts.Append = 18, graphResize(scale)
		}
		data, err = ncnn.ConvertOptions(n, opts)
	}
	if err != nil {
		return "", fmt.Errorf("realesrgan: convert %s: %w", name, err)
	}
	if err := writeAtomic(out, data); err != nil {
		return "", fmt.Errorf("realesrgan: convert %s: %w", name, err)
	}
	return out, nil
}

// writeAtomic writes data to path through a temporary file in the same directory and a rename.
func writeAtomic(path string, data []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
