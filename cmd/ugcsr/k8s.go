package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ugcsr/ugcsr/segment"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// A Kubernetes Indexed Job, written with the field names of the batch/v1 API (the test decodes it
// strictly with k8s.io/api's types, in tools/k8scheck). Each pod runs one segment: Kubernetes
// gives pod K JOB_COMPLETION_INDEX=K, which run-segment reads as --index.
type (
	k8sJob struct {
		APIVersion string     `json:"apiVersion"`
		Kind       string     `json:"kind"`
		Metadata   k8sMeta    `json:"metadata"`
		Spec       k8sJobSpec `json:"spec"`
	}
	k8sMeta struct {
		Name   string            `json:"name,omitempty"`
		Labels map[string]string `json:"labels,omitempty"`
	}
	k8sJobSpec struct {
		CompletionMode       string      `json:"completionMode"`
		Completions          int         `json:"completions"`
		Parallelism          int         `json:"parallelism"`
		BackoffLimitPerIndex int         `json:"backoffLimitPerIndex"`
		Template             k8sTemplate `json:"template"`
	}
	k8sTemplate struct {
		Metadata k8sMeta    `json:"metadata"`
		Spec     k8sPodSpec `json:"spec"`
	}
	k8sPodSpec struct {
		RestartPolicy string         `json:"restartPolicy"`
		Containers    []k8sContainer `json:"containers"`
		Volumes       []k8sVolume    `json:"volumes"`
	}
	k8sContainer struct {
		Name         string       `json:"name"`
		Image        string       `json:"image"`
		Command      []string     `json:"command"`
		Resources    k8sResources `json:"resources"`
		VolumeMounts []k8sMount   `json:"volumeMounts"`
	}
	k8sResources struct {
		Requests map[string]string `json:"requests,omitempty"`
		Limits   map[string]string `json:"limits,omitempty"`
	}
	k8sMount struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	}
	k8sVolume struct {
		Name                  string       `json:"name"`
		PersistentVolumeClaim k8sClaimName `json:"persistentVolumeClaim"`
	}
	k8sClaimName struct {
		ClaimName string `json:"claimName"`
	}
)

// writeK8sJob writes the Indexed Job that runs plan (saved at planPath) one segment per pod, with
// the volume holding the input, the plan and the segments mounted where it is mounted here.
func writeK8sJob(o k8sOptions, plan *segment.Plan, planPath string, dev ort.Device) error {
	planAbs, err := filepath.Abs(planPath)
	if err != nil {
		return err
	}
	mount := o.mount
	if mount == "" {
		mount = filepath.Dir(planAbs)
	}
	segDir, _ := filepath.Abs(plan.SegmentDir(planAbs))
	for _, p := range []string{planAbs, plan.Input, segDir} {
		if rel, err := filepath.Rel(mount, p); err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("--k8s: %s is not under the volume's mount %s (give --mount)", p, mount)
		}
	}
	parallelism := o.parallelism
	if parallelism <= 0 || parallelism > len(plan.Segments) {
		parallelism = len(plan.Segments)
	}
	res := k8sResources{Requests: map[string]string{"cpu": o.cpu, "memory": o.memory}}
	if dev == ort.DeviceCUDA || dev == ort.DeviceTensorRT {
		res.Limits = map[string]string{"nvidia.com/gpu": "1"}
	}
	name := k8sName(plan)
	job := k8sJob{
		APIVersion: "batch/v1", Kind: "Job",
		Metadata: k8sMeta{Name: name, Labels: map[string]string{"app": "ugcsr"}},
		Spec: k8sJobSpec{
			CompletionMode: "Indexed", Completions: len(plan.Segments), Parallelism: parallelism, BackoffLimitPerIndex: 2,
			Template: k8sTemplate{
				Metadata: k8sMeta{Labels: map[string]string{"app": "ugcsr", "job": name}},
				Spec: k8sPodSpec{
					RestartPolicy: "Never",
					Containers: []k8sContainer{{
						Name: "ugcsr", Image: o.image,
						Command:      []string{"ugcsr", "run-segment", "--plan", planAbs},
						Resources:    res,
						VolumeMounts: []k8sMount{{Name: "data", MountPath: mount}},
					}},
					Volumes: []k8sVolume{{Name: "data", PersistentVolumeClaim: k8sClaimName{ClaimName: o.claim}}},
				},
			},
		},
	}
	b, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.path, append(b, '\n'), 0o644)
}
