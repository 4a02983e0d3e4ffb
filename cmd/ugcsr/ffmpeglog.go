package main

import (
	"fmt"
	"strings"
	"sync"

	"github.com/asticode/go-astiav"
)

// ffmpegLog routes FFmpeg's own log lines: those at or above the chosen level are printed with an
// "ffmpeg:" prefix; the last error-level line is kept, so the final one-line error can name
// FFmpeg's reason ("moov atom not found") instead of printing it on a second line.
type ffmpegLog struct {
	mu        sync.Mutex
	lastError string
}

func (l *ffmpegLog) install(lg *logger, level astiav.LogLevel) {
	astiav.SetLogLevel(astiav.LogLevelVerbose)
	astiav.SetLogCallback(func(c astiav.Classer, lv astiav.LogLevel, _, msg string) {
		msg = strings.TrimSpace(msg)
		if msg == "" {
			return
		}
		if lv <= astiav.LogLevelError {
			l.mu.Lock()
			l.lastError = msg
			l.mu.Unlock()
		}
		if lv <= level && level != astiav.LogLevelQuiet {
			lg.mu.Lock()
			fmt.Fprintf(lg.w, "ffmpeg: %s\n", msg)
			lg.mu.Unlock()
		}
	})
}

// annotate appends FFmpeg's last error line to err's text when err does not already carry it.
func (l *ffmpegLog) annotate(err error) error {
	l.mu.Lock()
	last := l.lastError
	l.mu.Unlock()
	if err == nil || last == "" || strings.Contains(err.Error(), last) {
		return err
	}
	return fmt.Errorf("%w (ffmpeg: %s)", err, last)
}
