package ort

import (
	"os"
	"runtime"

	"github.com/ugcsr/ugcsr/internal/appcache"
)

// Runtime is the ONNX Runtime part of every ONNX backend's configuration, declared here once and
// embedded by each backend's Config.
type Runtime struct {
	// Device selects the execution provider (optional). It defaults to DeviceAuto: CUDA when the
	// loaded library and the machine have it, else the CPU with one log line.
	Device Device
	// Library is the path of libonnxruntime.so (optional). It defaults to $UGCSR_ORT_LIB, then the
	// cache's build for Device: <CacheDir>/ort-gpu for cuda and tensorrt, and for auto on a machine
	// with an NVIDIA GPU; else <CacheDir>/ort (see LibraryFor).
	Library string `json:"-"`
	// Threads is the intra-op thread count of each session (optional). It defaults to the number
	// of cores.
	Threads int `json:"-"`
	// CacheDir is ugcsr's cache: the library setup fetched, the models and the models converted on
	// first use (optional). It defaults to appcache.Dir(): $UGCSR_CACHE, else ~/.cache/ugcsr.
	CacheDir string `json:"-"`
}

// Init fills the defaults.
func (r *Runtime) Init() {
	if r.Threads <= 0 {
		r.Threads = runtime.NumCPU()
	}
	if r.CacheDir == "" {
		r.CacheDir = appcache.Dir()
	}
}

// Load resolves the library for r.Device (see LibraryFor) and loads it, once per process. When a
// library is already loaded and none is named (r.Library, $UGCSR_ORT_LIB), that one is kept: the
// first Load of the process chose it.
func (r *Runtime) Load() error {
	if r.Library == "" && os.Getenv(EnvLib) == "" && Loaded() != "" {
		return nil
	}
	p, err := LibraryFor(r.Library, r.CacheDir, r.Device)
	if err != nil {
		return err
	}
	return Load(p)
}
