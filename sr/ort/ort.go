// Package ort runs ONNX models through ONNX Runtime (github.com/yalue/onnxruntime_go), loading the
// shared library once per process and handing out per-worker sessions and C-allocated tensors.
//
// Lifetimes: Load initializes ONNX Runtime's process-global environment, which then lives until the
// process exits (it is never destroyed: sessions of several backends may share it). A Session and the
// Tensors it runs on belong to one worker goroutine; close tensors and sessions when done.
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	onnxruntime "github.com/yalue/onnxruntime_go"
)

// EnvLib names the environment variable that names the ONNX Runtime shared library when no
// explicit path is given.
const EnvLib = "UGCSR_ORT_LIB"

// LibName is the file name of the ONNX Runtime library that setup caches under <cache>/ort.
const LibName = "libonnxruntime.so.1"

// ErrLibraryNotFound is returned by LibraryPath and Load when no ONNX Runtime library exists at the
// explicit path, $UGCSR_ORT_LIB or the cache. The error text names all three.
var ErrLibraryNotFound = errors.New("onnxruntime: library not found")

// ErrDeviceUnavailable is returned when a session explicitly asks for cuda or tensorrt and the
// loaded ONNX Runtime build, the driver or the machine cannot provide it. DeviceAuto never returns it;
// it falls back to the CPU instead.
var ErrDeviceUnavailable = errors.New("onnxruntime: device unavailable")

// LibraryPath resolves the ONNX Runtime library: explicit if set (the CLI's --ort-lib), else
// $UGCSR_ORT_LIB if set, else <cacheDir>/ort/libonnxruntime.so.1 (the application's cache, see
// internal/appcache; cacheDir "" means no cache). The first candidate that is set is the one used;
// if it does not exist the error wraps ErrLibraryNotFound and lists all three candidates.
func LibraryPath(explicit, cacheDir string) (string, error) {
	var cached string
	if cacheDir != "" {
		cached = filepath.Join(cacheDir, "ort", LibName)
	}
	env := os.Getenv(EnvLib)
	pick := cached
	switch {
	case explicit != "":
		pick = explicit
	case env != "":
		pick = env
	}
	if st, err := os.Stat(pick); err == nil && !st.IsDir() {
		return pick, nil
	}
	describe := func(what, p string) string {
		switch {
		case p == "":
			return what + " (unset)"
		case p != pick:
			return what + "=" + p + " (not tried)"
		}
		return what + "=" + p + " (missing)"
	}
	return "", fmt.Errorf("%w (looked at %s, %s, %s)", ErrLibraryNotFound,
		describe("path", explicit), describe("$"+EnvLib, env), describe("cache", cached))
}

// lib guards the one-time, process-wide initialization of ONNX Runtime. It is the package's only
// mutable state: path is the library that was loaded ("" until a Load succeeds).
var lib struct {
	mu   sync.Mutex
	path string
	// noCUDA records that DeviceAuto already fell back to the CPU: the loaded library (or the
	// machine) has no usable CUDA, so later sessions go straight to the CPU, silently.
	noCUDA bool
	// ready holds deviceReady's answer per device and device id: the machine does not change
	// while the process runs.
	ready map[string]error
}

// Load loads the ONNX Runtime shared library at path and initializes the process-global
// environment, with ONNX Runtime's own logging limited to fatal messages (failures come back as
// errors instead of lines on stderr). Only the first successful call does work; later calls with the same library (or
// path "") return nil, and a call naming a different file fails, since a process can hold only one
// ONNX Runtime. A failed Load may be retried. Load is safe for concurrent use.
//
// When provider libraries lie beside the library (the GPU build, see GPUDir), Load first checks that
// they belong to the same ONNX Runtime release and refuses a mismatch with ErrVersionMismatch.
func Load(path string) error {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.path != "" {
		if path == "" || sameFile(path, lib.path) {
			return nil
		}
		return fmt.Errorf("onnxruntime: already loaded from %s, cannot also load %s", lib.path, path)
	}
	if path == "" {
		return fmt.Errorf("%w (empty path)", ErrLibraryNotFound)
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%w: %v", ErrLibraryNotFound, err)
	}
	if err := checkPairing(path); err != nil {
		return err
	}
	onnxruntime.SetSharedLibraryPath(path)
	if err := onnxruntime.InitializeEnvironment(onnxruntime.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("onnxruntime: load %s: %w", path, err)
	}
	lib.path = path
	return nil
}

// Loaded returns the path of the loaded library, or "" before the first successful Load.
func Loaded() string {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	return lib.path
}

// Version returns the loaded ONNX Runtime's version string, e.g. "1.30.0" ("" before Load).
func Version() string {
	if Loaded() == "" {
		return ""
	}
	return strings.TrimSpace(onnxruntime.GetVersion())
}

func sameFile(a, b string) bool {
	if a == b {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
