// Command ugcsr upscales short-form video with ffmpeg-style options:
//
//	ugcsr -i in.mp4 [-s 2 | -vf scale=W:H] [--model realesrgan-x4fast] [-c:v libx264 -crf 18] [-y] out.mp4
//
// See ugcsr --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/sr/diffusion"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// errInterrupted marks a job stopped by a signal whose partial output was finalised.
var errInterrupted = errors.New("interrupted")

// stopSignals stop a job the way Ctrl-C does: SIGTERM is what service managers and kill send,
// SIGHUP what a closed terminal sends.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// usageError marks bad command lines (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	var stoppedBy atomic.Int32 // the first signal's number, for the exit code
	go func() {
		// First signal: stop reading input and finalise what was done. Second: abort.
		s := <-sigs
		if n, ok := s.(syscall.Signal); ok {
			stoppedBy.Store(int32(n))
		}
		close(stop)
		<-sigs
		cancel()
	}()

	if os.Getenv("SVT_LOG") == "" {
		os.Setenv("SVT_LOG", "1") // SVT-AV1 prints its banner itself, bypassing FFmpeg's log level
	}
	app := newApp(stop)
	err := app.RunContext(ctx, reorderArgs(os.Args, app))
	os.Exit(exitCode(err, syscall.Signal(stoppedBy.Load())))
}

// exitCode is the one place that turns errors into user text and exit codes. A job stopped by a
// signal exits as shells report a process killed by it, 128 + its number (SIGINT 130, SIGTERM 143,
// SIGHUP 129); sig is 0 when none came.
func exitCode(err error, sig syscall.Signal) int {
	signalled := 130
	if sig > 0 {
		signalled = 128 + int(sig)
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errInterrupted):
		return signalled
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "ugcsr: aborted; no output written")
		return signalled
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "ugcsr: %s (see ugcsr --help)\n", ue.msg)
		return 2
	default:
		fmt.Fprintf(os.Stderr, "ugcsr: %s%s\n", oneLine(err.Error()), flagHint(err))
		return 1
	}
}

// flagHint names the flag or step that answers a library error (the libraries never speak CLI).
func flagHint(err error) string {
	switch {
	case errors.Is(err, ort.ErrGPUBuildNotFound):
		return " (run scripts/setup.sh --gpu or pass --ort-lib)"
	case errors.Is(err, ort.ErrVersionMismatch):
		return " (run scripts/setup.sh --gpu)"
	case errors.Is(err, ort.ErrDeviceUnavailable):
		return " (ugcsr probe --devices says what works)"
	case errors.Is(err, ort.ErrLibraryNotFound):
		return " (run scripts/setup.sh or pass --ort-lib)"
	case errors.Is(err, realesrgan.ErrModelNotFound):
		return " (run scripts/setup.sh)"
	case errors.Is(err, diffusion.ErrPrompt):
		return " (drop --prompt)"
	case errors.Is(err, decode.ErrIndexAtEnd):
		return " (give the file by name, or remux it once with ffmpeg -movflags +faststart)"
	case errors.Is(err, encode.ErrExists):
		return " (use -y to overwrite)"
	}
	return ""
}

func oneLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func newApp(stop <-chan struct{}) *cli.App {
	up := &upscaleOptions{}
	cli.FlagStringer = ffmpegFlagString
	return &cli.App{
		Name:  "ugcsr",
		Usage: "upscale short-form video with super-resolution models",
		UsageText: "ugcsr -i INPUT [options] OUTPUT\n" +
			"ugcsr -i clip.mp4 -s 2 out.mp4                       (Real-ESRGAN x4fast, resized to x2)\n" +
			"ugcsr -i clip.mp4 --model lanczos -vf scale=1920:-2 out.mp4\n" +
			"ffmpeg -i in.mov -f nut - | ugcsr -i - -s 2 -f nut - | ffplay -\n" +
			"ugcsr -i clip.mp4 --preview :8080 out.mp4             (watch it in a browser)\n" +
			"ugcsr preview -i clip.mp4 --at 3.5 --compare '--model lanczos'\n" +
			"ugcsr probe FILE\n" +
			"ugcsr probe --devices                                (which of cpu, cuda, tensorrt work here)\n" +
			"ugcsr -i clip.mp4 --resume out.mp4                   (killed or stopped? run it again to continue)\n" +
			"ugcsr plan -i clip.mp4 --segments 8 -o plan.json --k8s job.json; ugcsr join --plan plan.json out.mp4\n" +
			"ugcsr batch -i clips/ -o upscaled/",
		Description: "Frames are decoded with FFmpeg, upscaled by the chosen model and re-encoded; audio, subtitle\n" +
			"and data streams are copied packet for packet, timestamps and metadata are kept. The output is\n" +
			"written to a temporary file and renamed into place when complete. Ctrl-C (or SIGTERM, SIGHUP)\n" +
			"once finishes a playable partial output and exits 130 (143, 129); a second signal aborts.",
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		Flags:                  up.flags(),
		Before:                 func(c *cli.Context) error { return up.finalize(c) },
		Action:                 func(c *cli.Context) error { return runUpscale(c, up, stop) },
		Commands: []*cli.Command{probeCommand(), modelsCommand(), benchCommand(), previewCommand(stop),
			planCommand(), runSegmentCommand(stop), joinCommand(), batchCommand(stop)},
		ExitErrHandler: func(*cli.Context, error) {}, // main's exitCode reports errors
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return usageError{err.Error()}
		},
	}
}
