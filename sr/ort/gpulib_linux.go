package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ugcsr_gpu_open loads path with RTLD_LAZY and RTLD_GLOBAL (global != 0) or RTLD_LOCAL. It returns the
// handle, or NULL with *err set to a malloc'ed copy of dlerror's text (read on the same thread).
static void *ugcsr_gpu_open(const char *path, int global, char **err) {
	dlerror();
	void *h = dlopen(path, RTLD_LAZY | (global ? RTLD_GLOBAL : RTLD_LOCAL));
	if (h == NULL) {
		const char *e = dlerror();
		*err = strdup(e != NULL ? e : "dlopen failed");
	}
	return h;
}

// The CUDA driver API as far as counting devices: CUresult is an int, 0 is CUDA_SUCCESS.
typedef int (*ugcsr_cuInit)(unsigned int);
typedef int (*ugcsr_cuDeviceGetCount)(int *);
typedef int (*ugcsr_cuGetErrorName)(int, const char **);

// ugcsr_gpu_devices initializes the driver in handle h (libcuda.so.1) and counts its devices. It
// returns the CUresult (-1 when a function is missing) and, on failure, the error's name.
static int ugcsr_gpu_devices(void *h, int *count, const char **name) {
	ugcsr_cuInit init = (ugcsr_cuInit)dlsym(h, "cuInit");
	ugcsr_cuDeviceGetCount getCount = (ugcsr_cuDeviceGetCount)dlsym(h, "cuDeviceGetCount");
	ugcsr_cuGetErrorName errName = (ugcsr_cuGetErrorName)dlsym(h, "cuGetErrorName");
	*count = 0;
	*name = NULL;
	if (init == NULL || getCount == NULL) {
		*name = "cuInit or cuDeviceGetCount missing";
		return -1;
	}
	int r = init(0);
	if (r == 0) {
		r = getCount(count);
	}
	if (r != 0 && errName != NULL) {
		errName(r, name);
	}
	return r;
}

// OrtApiBase of onnxruntime_c_api.h, the one struct a library of any release exports first.
typedef struct {
	const void *(*GetApi)(uint32_t version);
	const char *(*GetVersionString)(void);
} ugcsr_OrtApiBase;

// ugcsr_gpu_ort_version returns the version string of the ONNX Runtime in handle h, or NULL.
static const char *ugcsr_gpu_ort_version(void *h) {
	const ugcsr_OrtApiBase *(*getBase)(void) = (const ugcsr_OrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
	if (getBase == NULL) {
		return NULL;
	}
	const ugcsr_OrtApiBase *b = getBase();
	return b != NULL && b->GetVersionString != NULL ? b->GetVersionString() : NULL;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// dlopen loads the shared library at path (a file name alone: the dynamic loader's own search) with
// RTLD_LAZY and RTLD_GLOBAL or RTLD_LOCAL, and never unloads it: a library loaded globally by
// absolute path satisfies every later dependency on its file name (its SONAME), which is how the
// CUDA provider finds the CUDA libraries without $LD_LIBRARY_PATH. The error is dlerror's text.
func dlopen(path string, global bool) (unsafe.Pointer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var cerr *C.char
	g := C.int(0)
	if global {
		g = 1
	}
	h := C.ugcsr_gpu_open(cpath, g, &cerr)
	if h == nil {
		defer C.free(unsafe.Pointer(cerr))
		return nil, errors.New(C.GoString(cerr))
	}
	return h, nil
}

// dlopenGlobal loads path with RTLD_GLOBAL (see dlopen).
func dlopenGlobal(path string) error {
	_, err := dlopen(path, true)
	return err
}

// cudaDevices loads the CUDA driver at path (libcuda.so.1), calls cuInit and returns
// cuDeviceGetCount's answer; an error names the CUresult (e.g. CUDA_ERROR_NO_DEVICE).
func cudaDevices(path string) (int, error) {
	h, err := dlopen(path, true)
	if err != nil {
		return 0, err
	}
	var n C.int
	var name *C.char
	if r := C.ugcsr_gpu_devices(h, &n, &name); r != 0 {
		if name == nil {
			return 0, fmt.Errorf("CUresult %d", int(r))
		}
		return 0, errors.New(C.GoString(name))
	}
	return int(n), nil
}

// coreVersion returns the version of the ONNX Runtime library at path (OrtGetApiBase's
// GetVersionString) without initializing it. The library stays loaded, RTLD_LOCAL: Load's
// onnxruntime.InitializeEnvironment opens the same file and gets the same handle.
func coreVersion(path string) (string, error) {
	h, err := dlopen(path, false)
	if err != nil {
		return "", err
	}
	v := C.ugcsr_gpu_ort_version(h)
	if v == nil {
		return "", fmt.Errorf("%s: no OrtGetApiBase", path)
	}
	return C.GoString(v), nil
}
