// Package k8scheck checks the Kubernetes Indexed Job that "ugcsr plan --k8s" writes against the
// Kubernetes API types themselves (k8s.io/api, pinned to v0.32.3, the newest that builds with the
// project's Go floor of 1.23). It is a module of its own so that ugcsr does not depend on them.
package k8scheck

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestIndexedJob decodes the manifest strictly (an unknown or misspelt field fails) into
// batchv1.Job and checks what makes it run the plan: one completion index per segment, the pod's
// command reading JOB_COMPLETION_INDEX, the GPU limit for --device cuda, the volume and its mount.
func TestIndexedJob(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ugcsr")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ugcsr")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	clip := filepath.Join(repo, "..", "shared", "clips", "01_dog.mp4")
	if _, err := os.Stat(clip); err != nil {
		t.Fatalf("the shared clips must be beside the repository: %v", err)
	}
	in := filepath.Join(dir, "in.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-i", clip, "-t", "2", "-c", "copy", in).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	planPath := filepath.Join(dir, "work", "plan.json")
	manifest := filepath.Join(dir, "job.json")
	cmd := exec.Command(bin, "plan", "-i", in, "--model", "lanczos", "--device", "cuda", "--segments", "3",
		"-o", planPath, "--dir", "segments", "--k8s", manifest, "--mount", dir, "--parallelism", "2",
		"--image", "registry.example/ugcsr:1", "--volume-claim", "clips")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ugcsr plan: %v\n%s", err, out)
	}
	var plan struct {
		Segments []struct{} `json:"segments"`
	}
	if b, err := os.ReadFile(planPath); err != nil || json.Unmarshal(b, &plan) != nil {
		t.Fatalf("plan: %v", err)
	}
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var job batchv1.Job
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&job); err != nil {
		t.Fatalf("not a batch/v1 Job: %v", err)
	}
	s := job.Spec
	switch {
	case job.APIVersion != "batch/v1" || job.Kind != "Job":
		t.Fatalf("apiVersion %q kind %q", job.APIVersion, job.Kind)
	case job.Name == "" || len(job.Name) > 63:
		t.Fatalf("name %q", job.Name)
	case s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion:
		t.Fatalf("completion mode %v, want Indexed", s.CompletionMode)
	case len(plan.Segments) != 3 || s.Completions == nil || int(*s.Completions) != len(plan.Segments):
		t.Fatalf("completions %v for %d segments", s.Completions, len(plan.Segments))
	case s.Parallelism == nil || *s.Parallelism != 2:
		t.Fatalf("parallelism %v, want 2", s.Parallelism)
	case s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Fatalf("restart policy %q (an Indexed Job's pods must not restart in place)", s.Template.Spec.RestartPolicy)
	case len(s.Template.Spec.Containers) != 1 || len(s.Template.Spec.Volumes) != 1:
		t.Fatalf("%d containers, %d volumes", len(s.Template.Spec.Containers), len(s.Template.Spec.Volumes))
	}
	c := s.Template.Spec.Containers[0]
	want := []string{"ugcsr", "run-segment", "--plan", planPath}
	if c.Image != "registry.example/ugcsr:1" || strings.Join(c.Command, " ") != strings.Join(want, " ") {
		t.Fatalf("container %q runs %q, want %q", c.Image, c.Command, want)
	}
	gpu := c.Resources.Limits[corev1.ResourceName("nvidia.com/gpu")]
	if gpu.Cmp(resource.MustParse("1")) != 0 {
		t.Fatalf("GPU limit %v, want 1 for --device cuda", gpu.String())
	}
	v := s.Template.Spec.Volumes[0]
	if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "clips" {
		t.Fatalf("volume %+v, want the claim \"clips\"", v)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != v.Name || c.VolumeMounts[0].MountPath != dir {
		t.Fatalf("mounts %+v, want %s at %s", c.VolumeMounts, v.Name, dir)
	}
}
