// The C side of package iobind: thin wrappers over ONNX Runtime's C API (OrtApi), reached through
// the library onnxruntime_go already loaded. Every function returns NULL or an error message that
// the caller frees with free().
#ifndef UGCSR_IOBIND_SHIM_H
#define UGCSR_IOBIND_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

// ugb_api_version is the OrtApi version the shim asks for (ONNX Runtime 1.16): every function it
// calls is that old or older.
#define ugb_api_version 16

char *ugb_init(const char *lib_path);

char *ugb_mem_info(const char *name, int id, OrtMemoryInfo **out);
void ugb_release_mem_info(OrtMemoryInfo *m);

char *ugb_session(const char *path, const void *data, size_t len, int threads, int cuda_id,
                  const char *profile_prefix, OrtSession **out);
void ugb_release_session(OrtSession *s);
char *ugb_end_profiling(OrtSession *s, char **path);

char *ugb_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out);
void ugb_release_allocator(OrtAllocator *a);

char *ugb_tensor_alloc(OrtAllocator *a, const int64_t *shape, size_t rank, int dtype, OrtValue **out,
                       void **data);
char *ugb_tensor_view(const OrtMemoryInfo *m, void *data, size_t bytes, const int64_t *shape,
                      size_t rank, int dtype, OrtValue **out);
void ugb_release_value(OrtValue *v);

char *ugb_binding(OrtSession *s, OrtIoBinding **out);
void ugb_release_binding(OrtIoBinding *b);
char *ugb_bind(OrtIoBinding *b, const char *name, const OrtValue *v, int output);
char *ugb_run(OrtSession *s, OrtRunOptions *ro, OrtIoBinding *b);

char *ugb_run_options(OrtRunOptions **out);
void ugb_release_run_options(OrtRunOptions *ro);
void ugb_terminate(OrtRunOptions *ro, int on);

// ugb_copy_identity moves bytes between host memory and the tensor dev by running the identity
// session s (input "x", output "y") with IoBinding: up = 1 copies host -> dev, up = 0 dev -> host.
// The host tensor exists only during the call.
char *ugb_copy_identity(OrtSession *s, OrtIoBinding *b, OrtRunOptions *ro, const OrtMemoryInfo *host_info,
                        void *host, size_t bytes, const int64_t *shape, size_t rank, int dtype, OrtValue *dev,
                        int up);

#endif
