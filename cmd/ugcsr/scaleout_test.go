package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestScaleOutLocal runs a plan the way the Indexed Job does, minus Kubernetes: one run-segment
// process per segment, all at once (the index from JOB_COMPLETION_INDEX, as Kubernetes sets it),
// then join. The joined file equals a single run's: every frame (FFV1, Real-ESRGAN x4fast), every
// timestamp, every audio packet, tags. A plan whose settings were edited, or another input, is
// refused.
func TestScaleOutLocal(t *testing.T) {
	in := resumeClip(t)
	dir := t.TempDir()
	single := filepath.Join(dir, "single.mkv")
	mustRun(t, "-i", in, "-c:v", "ffv1", single)

	planPath := filepath.Join(dir, "job", "plan.json")
	mustRun(t, "plan", "-i", in, "-c:v", "ffv1", "--segments", "3", "-o", planPath, "--dir", "segments")
	var wg sync.WaitGroup
	errs := make([]string, 3)
	for k := 0; k < 3; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binary, "run-segment", "--plan", planPath)
			cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+string(rune('0'+k)))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[k] = err.Error() + ": " + string(out)
			}
		}()
	}
	wg.Wait()
	for k, e := range errs {
		if e != "" {
			t.Fatalf("segment %d: %s", k, e)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "job", "segments", "seg-*.nut"))
	if len(segs) != 3 {
		t.Fatalf("%d segment files, want 3", len(segs))
	}
	joined := filepath.Join(dir, "joined.mkv")
	mustRun(t, "join", "--plan", planPath, joined)
	sameOutput(t, single, joined)

	// Another input (same name, other content) and edited settings are refused.
	other := filepath.Join(dir, "other.mp4")
	b, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(b, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := ugcsr(t, nil, "join", "--plan", planPath, "-i", other, filepath.Join(dir, "x.mkv"))
	if code == 0 || !strings.Contains(stderr, "another input") {
		t.Fatalf("join with another input: exit %d\n%s", code, stderr)
	}
	_, stderr, code = ugcsr(t, nil, "run-segment", "--plan", planPath, "--index", "1", "-i", other)
	if code == 0 || !strings.Contains(stderr, "another input") {
		t.Fatalf("run-segment with another input: exit %d\n%s", code, stderr)
	}
	p, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(p), `"Model": "realesrgan-x4fast"`, `"Model": "lanczos"`, 1)
	if edited == string(p) {
		t.Fatalf("no x4fast model in the plan's settings:\n%s", p)
	}
	if err := os.WriteFile(planPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = ugcsr(t, nil, "join", "--plan", planPath, filepath.Join(dir, "y.mkv"))
	if code == 0 || !strings.Contains(stderr, "other settings") {
		t.Fatalf("join of a plan with edited settings: exit %d\n%s", code, stderr)
	}
}
