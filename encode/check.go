package encode

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ErrSameFile is returned by CheckNotInput when the output would replace the input.
var ErrSameFile = errors.New("output is the input")

// CheckNotInput fails when output names the same file as input (the same path, a link to it or a
// hard link), which Overwrite must never replace: the job reads the input while writing the output.
func CheckNotInput(output, input string) error {
	if !isPlainPath(output) || !isPlainPath(input) || output == "-" || input == "-" || strings.Contains(input, "%") {
		return nil
	}
	out, err := os.Stat(output)
	if err != nil {
		return nil // nothing there yet: it cannot be the input
	}
	in, err := os.Stat(input)
	if err != nil {
		return nil // decode reports a missing input
	}
	if os.SameFile(in, out) {
		return fmt.Errorf("encode: %q: %w %q", output, ErrSameFile, input)
	}
	return nil
}

// checkReplaceable fails when an existing output may not be written by this user. The output is
// renamed into place, which the directory's permission allows even over a read-only file; ffmpeg
// opens the file itself and is refused, and so is this.
func checkReplaceable(path string) error {
	if err := syscall.Access(path, 2 /* W_OK */); err != nil {
		return fmt.Errorf("encode: cannot replace %q: %w", path, err)
	}
	return nil
}

// crfMax is the highest CRF each encoder that takes one accepts, its own range rather than
// FFmpeg's option's: x264 and x265 clip anything above 51 silently (FFmpeg's crf option goes to
// FLT_MAX), libvpx-vp9, libaom-av1 and SVT-AV1 take 0 to 63.
var crfMax = map[string]int{"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libaom-av1": 63, "libsvtav1": 63}

// checkCRF fails for a CRF outside the encoder's range; -1 leaves the encoder's default.
func checkCRF(codec string, crf int) error {
	hi, ok := crfMax[codec]
	if ok && (crf < -1 || crf > hi) {
		return fmt.Errorf("encode: %s takes a crf from 0 to %d, not %d", codec, hi, crf)
	}
	return nil
}
