package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// refuseValues turns flag values that cannot be meant into one-line usage errors before any work.
// A flag left unset keeps its default (0 means "not given" for -s, -frames:v and --reuse-tiles),
// so only values the user typed are checked here; the parsers refuse the rest.
func (o *upscaleOptions) refuseValues(c *cli.Context) error {
	if c.IsSet("s") && !(o.scale > 0) { // !(x > 0) also catches NaN
		return usageError{fmt.Sprintf("-s %v: want a scale factor above 0", o.scale)}
	}
	if c.IsSet("frames:v") && o.frames <= 0 {
		return usageError{fmt.Sprintf("-frames:v %d: want at least 1 frame", o.frames)}
	}
	if c.IsSet("reuse-tiles") && !(o.cfg.ReuseTiles > 0 && o.cfg.ReuseTiles <= 1) {
		return usageError{fmt.Sprintf("--reuse-tiles %v: want a threshold above 0 and at most 1", o.cfg.ReuseTiles)}
	}
	if isStdout(o.progress) && isStdout(o.output) {
		return usageError{fmt.Sprintf("-progress %s and the video both go to standard output: send progress to pipe:2 or a file", o.progress)}
	}
	return nil
}

// isStdout reports whether an output or -progress target names standard output.
func isStdout(target string) bool {
	return target == "-" || target == "pipe:" || target == "pipe:1" || target == "/dev/stdout"
}

// ffmpegNames are the flags spelled as ffmpeg spells them, with one dash whatever their length;
// the help shows them that way. ugcsr's own flags keep two.
var ffmpegNames = map[string]bool{"i": true, "f": true, "s": true, "vf": true, "c:v": true, "vcodec": true,
	"crf": true, "preset": true, "pix_fmt": true, "b:v": true, "ss": true, "t": true, "frames:v": true,
	"vframes": true, "y": true, "n": true, "loglevel": true, "v": true, "progress": true}

// urfaveFlagString is urfave/cli's own FlagStringer, which ffmpegFlagString edits.
var urfaveFlagString = cli.FlagStringer

// ffmpegFlagString is the help line of a flag with ffmpeg's one dash for ffmpegNames (urfave/cli
// gives every name longer than one letter two, and v2.27.5 ignores FlagNamePrefixer).
func ffmpegFlagString(f cli.Flag) string {
	s := urfaveFlagString(f)
	names, usage, _ := strings.Cut(s, "\t")
	parts := strings.Split(names, ", ")
	for i, p := range parts {
		n, rest, _ := strings.Cut(strings.TrimPrefix(p, "--"), " ")
		if strings.HasPrefix(p, "--") && ffmpegNames[n] {
			parts[i] = strings.TrimSuffix("-"+n+" "+rest, " ")
		}
	}
	return strings.Join(parts, ", ") + "\t" + usage
}
