package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// resumeClip makes a 1.6 s 64x36 H.264 clip (keyframes every 12 frames, B-frames) with the shared
// clip's AAC audio: small enough for Real-ESRGAN on a CPU to take a few seconds.
func resumeClip(t *testing.T) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.mp4")
	mediatest.FFmpeg(t, "-i", mediatest.Clip(t, "01_dog"), "-t", "1.6", "-vf", "scale=64:36", "-c:v", "libx264",
		"-g", "12", "-c:a", "copy", in)
	return in
}

// startUgcsr starts the binary; stderr is collected in the returned buffer.
func startUgcsr(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// waitForSegments waits until dir holds at least n finished segment files.
func waitForSegments(t *testing.T, dir string, n int, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "seg-*.nut"))
		if len(files) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatalf("no %d finished segments in %s after 2 minutes", n, dir)
}

// sameOutput fails t unless got has want's streams (codec, size, pixel format, sample aspect
// ratio, colour, tags), video frames (pixel for pixel, same timestamps) and audio packets (same
// data, same timestamps).
func sameOutput(t *testing.T, want, got string) {
	t.Helper()
	ws, gs := mediatest.FFprobe(t, want, nil).Streams, mediatest.FFprobe(t, got, nil).Streams
	if len(ws) != len(gs) {
		t.Fatalf("%d streams, want %d", len(gs), len(ws))
	}
	for i := range ws {
		w, g := ws[i], gs[i]
		if g.CodecName != w.CodecName || g.Width != w.Width || g.Height != w.Height || g.PixFmt != w.PixFmt ||
			g.SAR != w.SAR || g.ColorSpace != w.ColorSpace || fmt.Sprint(g.Tags) != fmt.Sprint(w.Tags) {
			t.Fatalf("stream %d: %+v\nwant %+v", i, g, w)
		}
	}
	wf, gf := mediatest.VideoFrames(t, want), mediatest.VideoFrames(t, got)
	if len(wf) != len(gf) || len(wf) == 0 {
		t.Fatalf("%s: %d frames, want %d", filepath.Base(got), len(gf), len(wf))
	}
	for i := range wf {
		if wf[i].PTSTime != gf[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, gf[i].PTSTime, wf[i].PTSTime)
		}
	}
	wd, gd := mediatest.DecodeFrames(t, want, 0), mediatest.DecodeFrames(t, got, 0)
	for i := range wd {
		if d := mediatest.MaxDiff(t, gd[i], wd[i]); !(d == 0) {
			t.Fatalf("frame %d differs by up to %d levels", i, d)
		}
	}
	wa, ga := mediatest.AudioPackets(t, want), mediatest.AudioPackets(t, got)
	if len(wa) != len(ga) || len(wa) < 40 {
		t.Fatalf("%d audio packets, want %d (at least 40)", len(ga), len(wa))
	}
	for i := range wa {
		if wa[i].PTS != ga[i].PTS || wa[i].DataHash != ga[i].DataHash {
			t.Fatalf("audio packet %d: pts %d %s, want %d %s", i, ga[i].PTS, ga[i].DataHash, wa[i].PTS, wa[i].DataHash)
		}
	}
}

// TestResumeAfterKill: a --resume job killed with SIGKILL midway and run again equals an
// uninterrupted run (Real-ESRGAN x4fast, lossless FFV1): every frame, timestamp and audio packet.
// In between, a run without --resume names the partial job and how to resume it, and the temporary
// file a killed run leaves is named by the next run.
func TestResumeAfterKill(t *testing.T) {
	in := resumeClip(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.mkv")
	mustRun(t, "-i", in, "-c:v", "ffv1", plain)

	out := filepath.Join(dir, "resumed.mkv")
	args := []string{"-i", in, "-c:v", "ffv1", "--resume", "--segment-seconds", "0.3", out}
	jobDir := filepath.Join(dir, ".resumed.mkv.ugcsr-resume")
	cmd, _ := startUgcsr(t, args...)
	waitForSegments(t, jobDir, 2, cmd)
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil || cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the job ended before it was killed: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the killed job left an output")
	}

	// A run without --resume (here of one frame, with -y) says what was found; its own SIGKILL
	// leaves a temporary file that the run after it names.
	_, stderr, code := ugcsr(t, nil, "-i", in, "-c:v", "ffv1", "-frames:v", "1", "-y", out)
	if code != 0 || !strings.Contains(stderr, "found a partial job for "+out) || !strings.Contains(stderr, "add --resume") {
		t.Fatalf("exit %d; stderr does not report the partial job:\n%s", code, stderr)
	}
	other := filepath.Join(dir, "other.mkv")
	cmd, _ = startUgcsr(t, "-i", mediatest.Clip(t, "02_cups"), "--model", "lanczos", "-c:v", "ffv1", other)
	var part string
	for deadline := time.Now().Add(time.Minute); part == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(dir, ".other.mkv.ugcsr-*.part")); len(m) > 0 {
			part = m[0]
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if part == "" {
		t.Fatal("the run without --resume never wrote its temporary file")
	}
	_, stderr, _ = ugcsr(t, nil, "-i", in, "-c:v", "ffv1", "-frames:v", "1", other)
	if !strings.Contains(stderr, part+" is left from a run that was killed") {
		t.Fatalf("the next run does not name %s:\n%s", part, stderr)
	}

	stderr = mustRun(t, append([]string{"-y"}, args...)...)
	if !strings.Contains(stderr, "resuming: ") {
		t.Fatalf("the rerun does not say it resumes:\n%s", stderr)
	}
	if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
		t.Fatalf("segments left after success: %v", err)
	}
	sameOutput(t, plain, out)
}

// TestResumeCtrlCTileReuse: Ctrl-C on a --resume job keeps its finished segments (exit 130, the
// message says where) and the rerun finishes it. With tile reuse, which carries state from frame
// to frame, every segment starts over (its first frame computed in full), so the resumed output
// equals an uninterrupted --resume run of the same settings, frame for frame.
func TestResumeCtrlCTileReuse(t *testing.T) {
	in := resumeClip(t)
	dir := t.TempDir()
	flags := []string{"-i", in, "-c:v", "ffv1", "--reuse-tiles", "0.02", "--resume", "--segment-seconds", "0.3"}
	whole := filepath.Join(dir, "whole.mkv")
	mustRun(t, append(flags, whole)...)

	out := filepath.Join(dir, "stopped.mkv")
	jobDir := filepath.Join(dir, ".stopped.mkv.ugcsr-resume")
	cmd, stderr := startUgcsr(t, append(flags, out)...)
	waitForSegments(t, jobDir, 1, cmd)
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "segments") || !strings.Contains(stderr.String(), jobDir) {
		t.Fatalf("the message does not say where the segments are kept:\n%s", stderr)
	}
	if files, _ := filepath.Glob(filepath.Join(jobDir, "seg-*.nut")); len(files) == 0 {
		t.Fatal("Ctrl-C removed the finished segments")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("Ctrl-C on a --resume job wrote an output")
	}
	mustRun(t, append(flags, out)...)
	sameOutput(t, whole, out)
}

// TestSecondSignalAborts: a second signal aborts at any time before the output is in place, as
// the help says, including while the encoder flushes the frames it holds back (x264's lookahead
// at 2560x1440 takes seconds): exit 130, no output, no temporary file.
func TestSecondSignalAborts(t *testing.T) {
	in := mediatest.Clip(t, "03_blocks")
	for _, delay := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.mp4")
			cmd, stderr := startAfterFrames(t, "-i", in, "--model", "lanczos", "-s", "2", "-progress", "pipe:1", out)
			cmd.Process.Signal(os.Interrupt)
			time.Sleep(delay)
			cmd.Process.Signal(os.Interrupt)
			err := cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
				t.Fatalf("exit %v, want 130\n%s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "aborted") {
				t.Fatalf("the second signal did not abort:\n%s", stderr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
				t.Fatalf("left behind: %v", left)
			}
		})
	}
}
