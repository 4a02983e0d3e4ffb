package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// BenchmarkResumeMemory reports the peak resident memory of a --resume job on 100 and 1,000
// frames (and of the same job without --resume): the plan holds a few bytes per frame and one
// segment is in flight at a time, so memory must not grow with the clip.
//
//	go test -run '^$' -bench ResumeMemory -benchtime 1x ./cmd/ugcsr
func BenchmarkResumeMemory(b *testing.B) {
	dir := b.TempDir()
	for _, frames := range []int{100, 1000} {
		in := filepath.Join(dir, fmt.Sprintf("in%d.mp4", frames))
		mediatest.FFmpeg(b, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=640x360:r=30,trim=end_frame=%d", frames),
			"-f", "lavfi", "-i", "sine=r=48000", "-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", in)
		for _, resume := range []bool{false, true} {
			name := fmt.Sprintf("frames=%d/resume=%v", frames, resume)
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					out := filepath.Join(b.TempDir(), "out.mp4")
					args := []string{"-i", in, "--model", "lanczos", "-s", "2", "-preset", "ultrafast", out}
					if resume {
						args = append(args, "--resume")
					}
					cmd := exec.Command(binary, args...)
					if msg, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("%v\n%s", err, msg)
					}
					ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
					b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
				}
			})
		}
	}
}
