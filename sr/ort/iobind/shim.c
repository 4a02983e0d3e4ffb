#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

// api and env are set once by ugb_init (the Go side serializes it) and never released: the
// library stays loaded and its environment lives until the process exits (see package ort).
static const OrtApi *api;
static OrtEnv *env;

static char *errorf(const char *fmt, const char *arg) {
  size_t n = strlen(fmt) + (arg ? strlen(arg) : 0) + 1;
  char *m = malloc(n);
  if (m) snprintf(m, n, fmt, arg ? arg : "");
  return m;
}

// take turns a status into an error message (NULL for success) and releases it.
static char *take(OrtStatus *st) {
  if (!st) return NULL;
  char *m = strdup(api->GetErrorMessage(st));
  api->ReleaseStatus(st);
  return m;
}

char *ugb_init(const char *lib_path) {
  if (api) return NULL;
  // RTLD_NOLOAD: the library must already be loaded (by onnxruntime_go); this only finds it.
  void *h = dlopen(lib_path, RTLD_NOLOAD | RTLD_NOW);
  if (!h) return errorf("%s is not loaded", dlerror());
  const OrtApiBase *(*get)(void) = (const OrtApiBase *(*)(void))dlsym(h, "OrtGetApiBase");
  if (!get) return errorf("no OrtGetApiBase in %s", lib_path);
  const OrtApiBase *base = get();
  const OrtApi *a = base->GetApi(ugb_api_version);
  if (!a) return errorf("ONNX Runtime %s has no C API version 16 (1.16 or newer is needed)", base->GetVersionString());
  api = a;
  // The environment is a process-wide singleton: CreateEnv returns the one onnxruntime_go made,
  // with its logging level, and counts one more reference, which is never released.
  char *err = take(api->CreateEnv(ORT_LOGGING_LEVEL_FATAL, "ugcsr", &env));
  if (err) api = NULL;
  return err;
}

char *ugb_mem_info(const char *name, int id, OrtMemoryInfo **out) {
  return take(api->CreateMemoryInfo(name, OrtDeviceAllocator, id, OrtMemTypeDefault, out));
}

void ugb_release_mem_info(OrtMemoryInfo *m) { api->ReleaseMemoryInfo(m); }

static char *append_cuda(OrtSessionOptions *o, int id) {
  OrtCUDAProviderOptionsV2 *co = NULL;
  char *err = take(api->CreateCUDAProviderOptions(&co));
  if (err) return err;
  char idbuf[16];
  snprintf(idbuf, sizeof idbuf, "%d", id);
  // The same options as package ort's CUDA sessions.
  const char *keys[] = {"device_id", "cudnn_conv_algo_search"};
  const char *vals[] = {idbuf, "EXHAUSTIVE"};
  err = take(api->UpdateCUDAProviderOptions(co, keys, vals, 2));
  if (!err) err = take(api->SessionOptionsAppendExecutionProvider_CUDA_V2(o, co));
  api->ReleaseCUDAProviderOptions(co);
  return err;
}

char *ugb_session(const char *path, const void *data, size_t len, int threads, int cuda_id,
                  const char *profile_prefix, OrtSession **out) {
  OrtSessionOptions *o = NULL;
  char *err = take(api->CreateSessionOptions(&o));
  if (err) return err;
  err = take(api->SetIntraOpNumThreads(o, threads));
  if (!err) err = take(api->SetInterOpNumThreads(o, 1));
  if (!err && profile_prefix) err = take(api->EnableProfiling(o, profile_prefix));
  if (!err && cuda_id >= 0) err = append_cuda(o, cuda_id);
  if (!err) {
    if (path)
      err = take(api->CreateSession(env, path, o, out));
    else
      err = take(api->CreateSessionFromArray(env, data, len, o, out));
  }
  api->ReleaseSessionOptions(o);
  return err;
}

void ugb_release_session(OrtSession *s) { api->ReleaseSession(s); }

char *ugb_end_profiling(OrtSession *s, char **path) {
  OrtAllocator *a = NULL;
  char *err = take(api->GetAllocatorWithDefaultOptions(&a));
  if (err) return err;
  char *p = NULL;
  err = take(api->SessionEndProfiling(s, a, &p));
  if (err) return err;
  *path = strdup(p);
  return take(api->AllocatorFree(a, p));
}

char *ugb_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out) {
  return take(api->CreateAllocator(s, m, out));
}

void ugb_release_allocator(OrtAllocator *a) { api->ReleaseAllocator(a); }

char *ugb_tensor_alloc(OrtAllocator *a, const int64_t *shape, size_t rank, int dtype, OrtValue **out,
                       void **data) {
  char *err = take(api->CreateTensorAsOrtValue(a, shape, rank, (ONNXTensorElementDataType)dtype, out));
  if (err) return err;
  err = take(api->GetTensorMutableData(*out, data));
  if (err) {
    api->ReleaseValue(*out);
    *out = NULL;
  }
  return err;
}

char *ugb_tensor_view(const OrtMemoryInfo *m, void *data, size_t bytes, const int64_t *shape,
                      size_t rank, int dtype, OrtValue **out) {
  return take(api->CreateTensorWithDataAsOrtValue(m, data, bytes, shape, rank, (ONNXTensorElementDataType)dtype, out));
}

void ugb_release_value(OrtValue *v) { api->ReleaseValue(v); }

char *ugb_binding(OrtSession *s, OrtIoBinding **out) { return take(api->CreateIoBinding(s, out)); }

void ugb_release_binding(OrtIoBinding *b) { api->ReleaseIoBinding(b); }

char *ugb_bind(OrtIoBinding *b, const char *name, const OrtValue *v, int output) {
  if (output) return take(api->BindOutput(b, name, v));
  return take(api->BindInput(b, name, v));
}

char *ugb_run(OrtSession *s, OrtRunOptions *ro, OrtIoBinding *b) {
  char *err = take(api->SynchronizeBoundInputs(b));
  if (!err) err = take(api->RunWithBinding(s, ro, b));
  if (!err) err = take(api->SynchronizeBoundOutputs(b));
  return err;
}

char *ugb_run_options(OrtRunOptions **out) { return take(api->CreateRunOptions(out)); }

void ugb_release_run_options(OrtRunOptions *ro) { api->ReleaseRunOptions(ro); }

void ugb_terminate(OrtRunOptions *ro, int on) {
  OrtStatus *st = on ? api->RunOptionsSetTerminate(ro) : api->RunOptionsUnsetTerminate(ro);
  if (st) api->ReleaseStatus(st);
}

char *ugb_copy_identity(OrtSession *s, OrtIoBinding *b, OrtRunOptions *ro, const OrtMemoryInfo *host_info,
                        void *host, size_t bytes, const int64_t *shape, size_t rank, int dtype, OrtValue *dev,
                        int up) {
  OrtValue *h = NULL;
  char *err = ugb_tensor_view(host_info, host, bytes, shape, rank, dtype, &h);
  if (err) return err;
  err = ugb_bind(b, "x", up ? h : dev, 0);
  if (!err) err = ugb_bind(b, "y", up ? dev : h, 1);
  if (!err) err = ugb_run(s, ro, b);
  // The binding must not keep the host tensor: its memory may be Go's and is only lent for the call.
  api->ClearBoundInputs(b);
  api->ClearBoundOutputs(b);
  api->ReleaseValue(h);
  return err;
}
