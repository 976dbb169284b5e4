/*
 * internal.h — what the C++ files of contexts/ share.
 *
 * Invariants (see contexts/README.md):
 * - Isolate data slot 0 holds the dv8_runtime_t of the isolate's thread.
 * - Context embedder data slot kEnvSlot holds the context's dv8_env_t.
 * - Globals (v8::Global) are owned by the env or the isolate struct and reset
 *   before the context or isolate is disposed; Locals never outlive a scope.
 * - dv8_value_t is a v8::Local<v8::Value> bit for bit (a slot pointer).
 */
#ifndef DV8_CONTEXTS_INTERNAL_H
#define DV8_CONTEXTS_INTERNAL_H

#include <v8.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "contexts/contexts.h"

extern "C" const dv8_api_t dv8__api_table; // api.cc

namespace dv8 {

constexpr int kEnvSlot = 2;

// A C function exported to JS; owned by its env, as the JS function may be
// called until the context is disposed.
struct NativeFunction {
  dv8_env_t *env;
  dv8_function_cb fn;
  void *data;
  std::string name;
};

// An event a module posted: slot's function of h, called with value.
struct Posted {
  dv8_handle_t *h; // NULL once h has closed
  unsigned slot;
  double value;
};

struct Wrapped; // a native pointer held by a JS object (api.cc)
struct Slots;   // the JS values bound to a handle's slots (api.cc)

// A runtime's memory limit, JS heap and ArrayBuffers together (isolate.cc).
// Touched on the isolate's thread only.
struct MemoryLimit {
  size_t limit = 0;      // bytes; 0: none
  size_t heap_at_gc = 0; // the JS heap's used bytes after the last GC
  // The last ArrayBuffer the allocator refused (0: the last one asked for
  // was not refused), and the bytes of buffers held then.
  size_t refused = 0;
  size_t refused_held = 0;
  bool interrupt_pending = false; // the allocator asked for a check
  bool reached = false;           // the runtime is ending of its limit
};

} // namespace dv8

// One per runtime thread: the heap and what spans all of its contexts.
struct dv8_isolate_s {
  v8::Isolate *isolate = nullptr;
  v8::Global<v8::ObjectTemplate> wrap_template;
  // Rejected promises nobody handled yet, checked after each microtask
  // checkpoint.
  std::vector<std::pair<v8::Global<v8::Promise>, v8::Global<v8::Value>>>
      rejections;
  // Garbage collections so far, for proving hot paths allocate nothing.
  uint64_t scavenges = 0;
  uint64_t mark_sweeps = 0;
  uint64_t gc_start_ns = 0; // the running collection's start (OnGC)
  // Contexts a reload replaced, disposed once events have flowed again.
  std::vector<dv8_env_t *> retired;
  uv_idle_t retire_idle;
  bool retire_idle_ready = false;
  uv_check_t pump; // runs the tasks V8 posts to this thread (isolate.cc)
  // Events modules posted (slot_post) and not yet given to JS, and the
  // batch being given now (api.cc).
  std::vector<dv8::Posted> posted;
  std::vector<dv8::Posted> batch;
  size_t run_begin = 0, run_end = 0; // batch's entries in deliver's call
  dv8_env_t *run_env = nullptr;      // that call's env (none: no call)
  bool delivering = false;
  dv8::MemoryLimit memory;
};

namespace dv8 {

struct ModuleEntry {
  v8::Global<v8::Module> module;
  std::string path; // absolute path, or [eval]/native:NAME
  int hash;         // module->GetIdentityHash()
  bool main = false;
};

} // namespace dv8

// The per-context environment a module call runs in (opaque in dv8.h).
struct dv8_env_s {
  dv8_runtime_t *rt = nullptr;
  v8::Isolate *isolate = nullptr;
  v8::Global<v8::Context> context;
  std::unordered_map<std::string, dv8::ModuleEntry *> modules_by_path;
  std::unordered_multimap<int, dv8::ModuleEntry *> modules_by_hash;
  std::vector<std::unique_ptr<dv8::ModuleEntry>> modules;
  std::unordered_map<std::string, v8::Global<v8::Object>> native_exports;
  std::unordered_map<std::string, v8::Global<v8::Value>> json_values;
  std::vector<std::unique_ptr<dv8::NativeFunction>> functions;
  dv8::Wrapped *wrapped = nullptr; // list of live wraps, finalized at dispose
  v8::Global<v8::Promise> main_promise;
  v8::Global<v8::Function> inspect;     // bootstrap's formatter, for errors
  v8::Global<v8::Function> repl_sigint; // repl.js's Ctrl-C at the prompt
  // bootstrap's deliver(n, fn, value...): calls up to 8 posted events;
  // deliver_at[0] is the one it is at, deliver_at[1 + k] set skips the kth
  // (closed meanwhile). deliver_at_array keeps that memory alive.
  v8::Global<v8::Function> deliver;
  v8::Global<v8::Int32Array> deliver_at_array;
  int32_t *deliver_at = nullptr;
  std::string main_path;
  // dv8__prepare_eval's module, instantiated, for dv8__run_eval of the
  // same source: a spare thread's entry, made while it waits for work.
  v8::Global<v8::Module> prepared;
  std::string prepared_source;
  int native_depth = 0; // > 0 while a native function called from JS runs
  bool exception_pending = false; // a module API call left one thrown
  bool repl = false;              // uncaught errors print and execution goes on
  // The turn hook (ABI 7, dv8->turn_hook): called at the end of a turn it
  // was armed in, and at a handover. turn_threw: the turn running now
  // ended in an uncaught exception.
  v8::Global<v8::Function> turn_hook;
  bool turn_armed = false;
  bool turn_always = false; // the hook at the end of every turn
  bool turn_threw = false;
  bool exited = false; // dv8.exit() was called: a termination, not a throw
  bool muted = false;  // binding.print to stdout and stderr prints nothing
};

namespace dv8 {

inline dv8_value_t ToC(v8::Local<v8::Value> v) {
  dv8_value_t out;
  static_assert(sizeof(out) == sizeof(v), "Local is one pointer");
  std::memcpy(&out, &v, sizeof(out));
  return out;
}

inline v8::Local<v8::Value> ToV8(dv8_value_t v) {
  v8::Local<v8::Value> out;
  std::memcpy(static_cast<void *>(&out), &v, sizeof(out));
  return out;
}

inline dv8_env_t *EnvOf(v8::Local<v8::Context> context) {
  return static_cast<dv8_env_t *>(
      context->GetAlignedPointerFromEmbedderData(kEnvSlot));
}

inline dv8_runtime_t *RuntimeOf(v8::Isolate *isolate) {
  return static_cast<dv8_runtime_t *>(isolate->GetData(0));
}

inline dv8_isolate_t *IsolateOf(v8::Isolate *isolate) {
  return RuntimeOf(isolate)->isolate;
}

v8::Local<v8::String> Str(v8::Isolate *isolate, const char *s);
v8::Local<v8::String> Str(v8::Isolate *isolate, const std::string &s);

// isolate.cc: a value as UTF-8 (one that cannot be converted described
// without running its code: "Symbol(x)", "[object Object]"), and the
// text to print for a thrown value (an Error's stack, or inspect()'s view).
std::string ToStdString(v8::Isolate *isolate, v8::Local<v8::Value> value);
std::string DescribeException(dv8_env_t *env, v8::Local<v8::Value> exception);

// errors.cc: printing what went wrong.
// Prints an uncaught exception (stack with file:line:col) to stderr.
void ReportException(dv8_env_t *env, v8::Local<v8::Value> exception,
                     v8::Local<v8::Message> message, const char *prefix);
// Prints an exception caught by try_catch and stops the runtime with 1.
void ReportUncaught(dv8_env_t *env, v8::TryCatch &try_catch);
// Runs microtasks and then reports unhandled rejections (fatal).
void RunMicrotasks(dv8_env_t *env);
// env's turn hook for reason (a dv8_turn_t) after the armed turn's END or
// THREW if it was armed: true, or false with why when the hook threw.
bool TurnHandover(dv8_env_t *env, int reason, std::string *why);
// Reports a rejection nobody handled (is_main: the entry module's own, which
// reads as an uncaught exception) and stops the runtime with 1.
void ReportRejection(dv8_env_t *env, v8::Local<v8::Value> reason, bool is_main);
// An Error whose message is printed alone, on one line, when uncaught:
// missing files, syntax errors, missing imports.
v8::Local<v8::Value> LoadError(v8::Isolate *isolate, const std::string &msg);

// isolate.cc: the memory limit (heapLimitMb, --heap-limit).
// Whether len bytes of ArrayBuffer fit rt's limit, garbage collected first
// if need be; if not, rt ends of its limit. For buffers dv8's C++ makes.
bool MemoryAllows(dv8_runtime_t *rt, size_t len);
// An ArrayBuffer of len bytes (not zeroed) for dv8's own C++: within the
// limit, and a RangeError thrown (empty result) rather than V8's fatal
// error when memory is refused.
v8::MaybeLocal<v8::ArrayBuffer> NewArrayBuffer(v8::Isolate *isolate,
                                               size_t len);

// loader.cc: the ES module loader.
void InitLoader(v8::Isolate *isolate);
v8::MaybeLocal<v8::Module> LoadModule(dv8_env_t *env, const std::string &spec,
                                      const std::string &referrer);
// The exports of a native or builtin JS module, made once per context.
v8::MaybeLocal<v8::Object> NativeExports(dv8_env_t *env,
                                         const std::string &name);
void DisposeModules(dv8_env_t *env);
// Loads, links and evaluates path as env's entry module; 1 with the error
// thrown (to the caller's TryCatch) when it fails. Reports nothing.
int LoadMain(dv8_env_t *env, const std::string &path);

// reload.cc: the natives reload() and reloadStats() on the core binding.
void AddReloadBinding(v8::Isolate *isolate, v8::Local<v8::Object> binding);
// Disposes the contexts reloads replaced (also at the isolate's end).
void DisposeRetired(dv8_isolate_t *iso);

// repl.cc: the natives for Ctrl-C in the REPL on the core binding.
void AddReplBinding(v8::Isolate *isolate, v8::Local<v8::Object> binding);

// context.cc: builtin JS modules, imported by bare name like native ones.
bool IsJsModule(const std::string &name);
v8::MaybeLocal<v8::Object> JsModuleExports(dv8_env_t *env,
                                           const std::string &name);

// api.cc: the module C API.
// The live handle a JS value names (an integer id), or nullptr.
dv8_handle_t *HandleOf(dv8_runtime_t *rt, v8::Local<v8::Value> id);
v8::MaybeLocal<v8::Function> NewFunction(dv8_env_t *env, const char *name,
                                         dv8_function_cb fn, void *data);
void FinalizeWraps(dv8_env_t *env);
// Lets the host free a closed handle's slots (at V8's start).
void InitSlots();
// Gives JS the events modules posted (slot_post) on iso's thread, in order;
// nothing while a batch is being given.
void DeliverPosted(dv8_isolate_t *iso);
// Whether an event posted for h has not reached JS yet.
bool PostedWaiting(dv8_handle_t *h);

// context.cc: defines obj[name] as a native function (the bindings).
void SetFn(v8::Isolate *isolate, v8::Local<v8::Object> obj, const char *name,
           v8::FunctionCallback fn);

// thread.cc: worker threads.
// Adds the natives thread.js uses to the core binding.
void AddThreadBinding(v8::Isolate *isolate, v8::Local<v8::Object> binding);
// Process-wide setup for messages between threads (at V8's start).
void InitThreads();
// A reload retires env: its thread.js sends what each of its ports holds
// (a batch refused for want of room, or not yet flushed) past the bound.
// False if that threw.
bool FlushPorts(dv8_runtime_t *rt, dv8_env_t *env);
// In a worker: keeps an uncaught exception for the parent to receive.
void RecordThreadError(dv8_env_t *env, v8::Local<v8::Value> exception);

} // namespace dv8

#endif
