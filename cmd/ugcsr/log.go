package main

import (
	"fmt"
	"io"
	"sync"

	"github.com/asticode/go-astiav"
)

type logLevel int

const (
	levelQuiet logLevel = iota
	levelError
	levelWarning
	levelInfo
	levelVerbose
	levelDebug
)

func parseLogLevel(s string) (logLevel, error) {
	switch s {
	case "quiet":
		return levelQuiet, nil
	case "error", "fatal", "panic":
		return levelError, nil
	case "warning":
		return levelWarning, nil
	case "info", "":
		return levelInfo, nil
	case "verbose":
		return levelVerbose, nil
	case "debug", "trace":
		return levelDebug, nil
	}
	return 0, fmt.Errorf("-loglevel: unknown level %q (quiet, error, warning, info, verbose, debug)", s)
}

// ffmpegLogLevel is the level from which FFmpeg's own lines are printed. Up to info only fatal ones
// are: FFmpeg's error lines reach the user inside ugcsr's one-line error instead (ffmpegLog), and
// its warnings and banners (x264's, ...) show from verbose on.
func ffmpegLogLevel(l logLevel) astiav.LogLevel {
	switch l {
	case levelQuiet:
		return astiav.LogLevelQuiet
	case levelVerbose:
		return astiav.LogLevelWarning
	case levelDebug:
		return astiav.LogLevelVerbose
	}
	return astiav.LogLevelFatal
}

// logger writes "ugcsr: ..." lines to stderr.
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	level logLevel
}

func newLogger(w io.Writer, l logLevel) *logger { return &logger{w: w, level: l} }

func (l *logger) logf(at logLevel, format string, args ...any) {
	if l == nil || l.level < at {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "ugcsr: "+format+"\n", args...)
}

func (l *logger) errorf(format string, args ...any) { l.logf(levelError, format, args...) }
func (l *logger) infof(format string, args ...any)  { l.logf(levelInfo, format, args...) }
func (l *logger) warnf(format string, args ...any)  { l.logf(levelWarning, format, args...) }
