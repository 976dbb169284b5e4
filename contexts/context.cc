// Contexts: creating one with dv8's globals, the core bindings the bootstrap
// script builds them from, and disposing one in a fixed order.
//
// The bootstrap (bootstrap.js, embedded in the binary) receives `binding`, a
// plain object of the native functions below, and defines console, timers,
// TextEncoder/TextDecoder, queueMicrotask, performance and globalThis.dv8.
// Anything costly (inspect.js, native modules) loads on first use, so that a
// fresh context for a reload costs little.
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include <mutex>

#include "contexts/internal.h"

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

extern "C" {
// Embedded JS sources (contexts/js_sources.S).
extern const char dv8_js_bootstrap[], dv8_js_bootstrap_end[];
extern const char dv8_js_inspect[], dv8_js_inspect_end[];
extern const char dv8_js_repl[], dv8_js_repl_end[];
extern const char dv8_js_serdes[], dv8_js_serdes_end[];
extern const char dv8_js_thread[], dv8_js_thread_end[];
extern const char dv8_js_helper[], dv8_js_helper_end[];
extern const char dv8_js_web[], dv8_js_web_end[];
extern const char dv8_js_url[], dv8_js_url_end[];
}

namespace {

struct Builtin {
  const char *name;
  const char *start;
  const char *end;
};

const Builtin kBuiltins[] = {
    {"bootstrap", dv8_js_bootstrap, dv8_js_bootstrap_end},
    {"inspect", dv8_js_inspect, dv8_js_inspect_end},
    {"repl", dv8_js_repl, dv8_js_repl_end},
    {"serdes", dv8_js_serdes, dv8_js_serdes_end},
    {"thread", dv8_js_thread, dv8_js_thread_end},
    {"helper", dv8_js_helper, dv8_js_helper_end},
    {"web", dv8_js_web, dv8_js_web_end},
    {"url", dv8_js_url, dv8_js_url_end},
};

// Builtins that JS imports by bare name, as it does native modules. They
// are part of the core because the core itself needs them (serdes carries
// state across a reload; threads are runtimes the host starts; a helper
// process's channel is one the host takes at start).
const char *const kJsModules[] = {"serdes", "thread", "helper"};

dv8_env_t *EnvOfCall(const FunctionCallbackInfo<Value> &info) {
  return dv8::EnvOf(info.GetIsolate()->GetCurrentContext());
}

void ThrowType(v8::Isolate *isolate, const char *msg) {
  isolate->ThrowException(v8::Exception::TypeError(dv8::Str(isolate, msg)));
}

// V8's code cache for builtins, shared by the process's isolates: the
// first isolate (the main thread) compiles as usual, lazily; the second
// compiles every function eagerly and keeps the cache; every later one
// (worker threads) deserializes instead of parsing and compiling. Entries
// are never changed or removed once made.
struct CodeCache {
  std::mutex lock;
  std::unordered_map<std::string, int> compiles;
  std::unordered_map<std::string, std::vector<uint8_t>> data;
};
CodeCache code_cache;

void SaveCache(const char *name, Local<v8::UnboundScript> script) {
  std::unique_ptr<v8::ScriptCompiler::CachedData> data(
      v8::ScriptCompiler::CreateCodeCache(script));
  if (data == nullptr || data->length <= 0)
    return;
  std::lock_guard<std::mutex> hold(code_cache.lock);
  code_cache.data.emplace(
      name, std::vector<uint8_t>(data->data, data->data + data->length));
}

// Compiles a builtin as `(function (binding) { ...source... })`. The same
// source text each time lets V8's per-isolate compilation cache serve every
// context after the first.
v8::MaybeLocal<v8::Function> CompileBuiltin(v8::Isolate *isolate,
                                            const char *name) {
  const Builtin *b = nullptr;
  for (const Builtin &candidate : kBuiltins)
    if (strcmp(candidate.name, name) == 0)
      b = &candidate;
  if (b == nullptr)
    return v8::MaybeLocal<v8::Function>();
  Local<v8::Context> context = isolate->GetCurrentContext();
  std::string source = "(function (binding) {";
  source.append(b->start, b->end - b->start);
  source += "\n})";
  v8::ScriptOrigin origin(isolate,
                          dv8::Str(isolate, std::string("dv8:") + name));
  v8::ScriptCompiler::CachedData *cached = nullptr; // owned by src
  bool make_cache;
  {
    std::lock_guard<std::mutex> hold(code_cache.lock);
    auto found = code_cache.data.find(name);
    if (found != code_cache.data.end())
      cached = new v8::ScriptCompiler::CachedData(
          found->second.data(), static_cast<int>(found->second.size()));
    make_cache = cached == nullptr && code_cache.compiles[name]++ == 1;
  }
  v8::ScriptCompiler::Source src(dv8::Str(isolate, source), origin, cached);
  auto options = cached != nullptr ? v8::ScriptCompiler::kConsumeCodeCache
                 : make_cache      ? v8::ScriptCompiler::kEagerCompile
                                   : v8::ScriptCompiler::kNoCompileOptions;
  Local<v8::Script> script;
  Local<Value> fn;
  if (!v8::ScriptCompiler::Compile(context, &src, options).ToLocal(&script))
    return v8::MaybeLocal<v8::Function>();
  if (make_cache)
    SaveCache(name, script->GetUnboundScript());
  if (!script->Run(context).ToLocal(&fn))
    return v8::MaybeLocal<v8::Function>();
  return fn.As<v8::Function>();
}

// Where a context keeps its binding, out of reach of user code.
Local<v8::Private> BindingKey(v8::Isolate *isolate) {
  return v8::Private::ForApi(isolate, dv8::Str(isolate, "dv8.binding"));
}

// Runs builtin NAME with the context's binding; what it returns.
v8::MaybeLocal<Value> RunBuiltin(Local<v8::Context> context, const char *name) {
  v8::Isolate *isolate = context->GetIsolate();
  Local<Value> binding;
  Local<v8::Function> fn;
  if (!context->Global()
           ->GetPrivate(context, BindingKey(isolate))
           .ToLocal(&binding) ||
      !CompileBuiltin(isolate, name).ToLocal(&fn))
    return v8::MaybeLocal<Value>();
  Local<Value> argv[] = {binding};
  return fn->Call(context, v8::Undefined(isolate), 1, argv);
}

// binding.builtin(name): runs builtin NAME and returns what it returns.
void BindingBuiltin(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  v8::String::Utf8Value name(isolate, info[0]);
  Local<Value> result;
  if (RunBuiltin(isolate->GetCurrentContext(), *name).ToLocal(&result))
    info.GetReturnValue().Set(result);
}

// Writes all of buf to fd, waiting when the descriptor is non-blocking and
// full (another process may have set O_NONBLOCK on a shared pipe).
int WriteAll(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN) {
        struct pollfd p = {fd, POLLOUT, 0};
        poll(&p, 1, -1);
        continue;
      }
      return -errno;
    }
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

// binding.print(fd, string): synchronous, as console output is in node when
// it goes to files and ttys, so that nothing printed before exit is lost.
void BindingPrint(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  int fd = info[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(1);
  if (!info[1]->IsString())
    return ThrowType(isolate, "print: argument 2 must be a string");
  if ((fd == 1 || fd == 2) && EnvOfCall(info)->muted)
    return info.GetReturnValue().Set(0);
  Local<v8::String> s = info[1].As<v8::String>();
  char stack_buf[4096];
  size_t need = static_cast<size_t>(s->Utf8Length(isolate));
  char *buf =
      need <= sizeof(stack_buf) ? stack_buf : static_cast<char *>(malloc(need));
  if (buf == nullptr)
    return;
  s->WriteUtf8(isolate, buf, static_cast<int>(need), nullptr,
               v8::String::REPLACE_INVALID_UTF8 |
                   v8::String::NO_NULL_TERMINATION);
  int err = WriteAll(fd, buf, need);
  if (buf != stack_buf)
    free(buf);
  info.GetReturnValue().Set(err);
}

void BindingLoadNative(const FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = EnvOfCall(info);
  v8::String::Utf8Value name(info.GetIsolate(), info[0]);
  Local<v8::Object> exports;
  if (dv8::NativeExports(env, *name).ToLocal(&exports))
    info.GetReturnValue().Set(exports);
}

// binding.evalScript(source, name): a classic script in the global scope, so
// that the REPL's let/const/class declarations persist between inputs.
void BindingEvalScript(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsString())
    return ThrowType(isolate, "evalScript: source must be a string");
  v8::ScriptOrigin origin(isolate, info[1]);
  Local<v8::Script> script;
  Local<Value> result;
  if (v8::Script::Compile(context, info[0].As<v8::String>(), &origin)
          .ToLocal(&script) &&
      script->Run(context).ToLocal(&result))
    info.GetReturnValue().Set(result);
}

void BindingUtf8Encode(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString())
    return ThrowType(isolate, "utf8Encode: argument must be a string");
  Local<v8::String> s = info[0].As<v8::String>();
  size_t len = static_cast<size_t>(s->Utf8Length(isolate));
  Local<v8::ArrayBuffer> ab;
  if (!dv8::NewArrayBuffer(isolate, len).ToLocal(&ab))
    return;
  s->WriteUtf8(
      isolate, static_cast<char *>(ab->Data()), static_cast<int>(len), nullptr,
      v8::String::REPLACE_INVALID_UTF8 | v8::String::NO_NULL_TERMINATION);
  info.GetReturnValue().Set(v8::Uint8Array::New(ab, 0, len));
}

// binding.utf8EncodeInto(string, uint8array, result): result[0] = UTF-16
// units read, result[1] = bytes written. The result array is reused by the
// caller so that encodeInto allocates only its return object.
void BindingUtf8EncodeInto(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString() || !info[1]->IsUint8Array())
    return ThrowType(isolate, "encodeInto: expected a string and a Uint8Array");
  Local<v8::String> s = info[0].As<v8::String>();
  Local<v8::Uint8Array> u8 = info[1].As<v8::Uint8Array>();
  char *dst = static_cast<char *>(u8->Buffer()->Data()) + u8->ByteOffset();
  int nchars = 0;
  int written = s->WriteUtf8(
      isolate, dst, static_cast<int>(u8->ByteLength()), &nchars,
      v8::String::REPLACE_INVALID_UTF8 | v8::String::NO_NULL_TERMINATION);
  Local<v8::Context> context = isolate->GetCurrentContext();
  // nchars counts UTF-16 units, a surrogate pair as two, and WriteUtf8
  // never splits a pair: it is what encodeInto reports as read.
  Local<v8::Object> result = info[2].As<v8::Object>();
  result->Set(context, 0, v8::Integer::New(isolate, nchars)).Check();
  result->Set(context, 1, v8::Integer::New(isolate, written)).Check();
}

// A string from UTF-8 bytes, invalid sequences replaced by U+FFFD; a
// RangeError naming `what` when it is longer than V8 allows.
bool NewUtf8(v8::Isolate *isolate, const void *data, size_t len,
             const char *what, Local<v8::String> *out) {
  if (len <= static_cast<size_t>(v8::String::kMaxLength) &&
      v8::String::NewFromUtf8(isolate, static_cast<const char *>(data),
                              v8::NewStringType::kNormal, static_cast<int>(len))
          .ToLocal(out))
    return true;
  isolate->ThrowException(v8::Exception::RangeError(
      dv8::Str(isolate, std::string(what) + ": string too long")));
  return false;
}

// binding.utf8Write(string, uint8array, offset): bytes written at offset.
// serdes reserves 3 bytes per UTF-16 unit first, so nothing is cut short;
// lone surrogates become U+FFFD as in TextEncoder.
void BindingUtf8Write(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString() || !info[1]->IsUint8Array() || !info[2]->IsUint32())
    return ThrowType(isolate, "utf8Write: expected (string, Uint8Array, "
                              "offset)");
  Local<v8::Uint8Array> u8 = info[1].As<v8::Uint8Array>();
  size_t offset = info[2].As<v8::Uint32>()->Value();
  size_t len = u8->ByteLength();
  if (offset > len)
    return ThrowType(isolate, "utf8Write: offset past the end");
  char *dst =
      static_cast<char *>(u8->Buffer()->Data()) + u8->ByteOffset() + offset;
  size_t room = len - offset;
  int written = info[0].As<v8::String>()->WriteUtf8(
      isolate, dst, room > INT32_MAX ? INT32_MAX : static_cast<int>(room),
      nullptr,
      v8::String::REPLACE_INVALID_UTF8 | v8::String::NO_NULL_TERMINATION);
  info.GetReturnValue().Set(written);
}

// binding.utf8Length(string): the bytes utf8Write would write, for serdes
// when reserving 3 bytes per unit would take it past its maxBytes.
void BindingUtf8Length(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString())
    return ThrowType(isolate, "utf8Length: expected a string");
  info.GetReturnValue().Set(info[0].As<v8::String>()->Utf8Length(isolate));
}

// binding.utf8Slice(uint8array, start, end): the bytes as a string, invalid
// sequences replaced by U+FFFD; no view object is made for the range.
void BindingUtf8Slice(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsUint8Array() || !info[1]->IsUint32() || !info[2]->IsUint32())
    return ThrowType(isolate, "utf8Slice: expected (Uint8Array, start, end)");
  Local<v8::Uint8Array> u8 = info[0].As<v8::Uint8Array>();
  size_t start = info[1].As<v8::Uint32>()->Value();
  size_t end = info[2].As<v8::Uint32>()->Value();
  if (start > end || end > u8->ByteLength())
    return ThrowType(isolate, "utf8Slice: range outside the array");
  const char *data =
      static_cast<const char *>(u8->Buffer()->Data()) + u8->ByteOffset();
  Local<v8::String> s;
  if (NewUtf8(isolate, data + start, end - start, "utf8Slice", &s))
    info.GetReturnValue().Set(s);
}

// binding.findProxy(...values): the index of the first Proxy, or -1 (JS
// cannot tell a Proxy from its target). serdes passes every object it
// walked in one call: one crossing, not one each.
void BindingFindProxy(const FunctionCallbackInfo<Value> &info) {
  for (int i = 0; i < info.Length(); i++)
    if (info[i]->IsProxy())
      return info.GetReturnValue().Set(i);
  info.GetReturnValue().Set(-1);
}

// Validates UTF-8 as the Encoding standard does (no overlongs, no
// surrogates, nothing above U+10FFFF).
bool ValidUtf8(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = p[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0;
      if (c == 0xED)
        hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90;
      if (c == 0xF4)
        hi = 0x8F;
    } else {
      return false;
    }
    if (i + n >= len)
      return false;
    if (p[i + 1] < lo || p[i + 1] > hi)
      return false;
    for (size_t k = 2; k <= n; k++)
      if (p[i + k] < 0x80 || p[i + k] > 0xBF)
        return false;
    i += n + 1;
  }
  return true;
}

// binding.utf8Decode(view, fatal): V8 replaces invalid sequences with
// U+FFFD as the Encoding standard says; fatal mode refuses them instead.
void BindingUtf8Decode(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  const uint8_t *data;
  size_t len;
  if (info[0]->IsArrayBufferView()) {
    Local<v8::ArrayBufferView> view = info[0].As<v8::ArrayBufferView>();
    data = static_cast<const uint8_t *>(view->Buffer()->Data()) +
           view->ByteOffset();
    len = view->ByteLength();
  } else if (info[0]->IsArrayBuffer()) {
    Local<v8::ArrayBuffer> ab = info[0].As<v8::ArrayBuffer>();
    data = static_cast<const uint8_t *>(ab->Data());
    len = ab->ByteLength();
  } else {
    return ThrowType(isolate, "TextDecoder.decode: expected an ArrayBuffer "
                              "or an ArrayBuffer view");
  }
  if (info[1]->IsTrue() && !ValidUtf8(data, len))
    return ThrowType(isolate,
                     "The encoded data was not valid for encoding utf-8");
  Local<v8::String> s;
  if (NewUtf8(isolate, data, len, "TextDecoder.decode", &s))
    info.GetReturnValue().Set(s);
}

void BindingHrtime(const FunctionCallbackInfo<Value> &info) {
  info.GetReturnValue().Set(
      v8::BigInt::NewFromUnsigned(info.GetIsolate(), uv_hrtime()));
}

// Milliseconds since the runtime started, for performance.now().
void BindingNow(const FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = EnvOfCall(info);
  double ms = static_cast<double>(uv_hrtime() - env->rt->start_ns) / 1e6;
  info.GetReturnValue().Set(ms);
}

void BindingMemoryUsage(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  v8::HeapStatistics hs;
  isolate->GetHeapStatistics(&hs);
  size_t rss = 0;
  uv_resident_set_memory(&rss);
  Local<v8::Object> out = v8::Object::New(isolate);
  auto set = [&](const char *k, size_t v) {
    out->Set(context, dv8::Str(isolate, k),
             v8::Number::New(isolate, static_cast<double>(v)))
        .Check();
  };
  set("rss", rss);
  set("heapTotal", hs.total_heap_size());
  set("heapUsed", hs.used_heap_size());
  set("heapLimit", hs.heap_size_limit());
  set("external", hs.external_memory());
  set("malloced", hs.malloced_memory());
  dv8_isolate_t *iso = dv8::IsolateOf(isolate);
  set("scavenges", iso->scavenges);
  set("markSweeps", iso->mark_sweeps);
  info.GetReturnValue().Set(out);
}

// binding.metricsNames(): the names of metricsRead's values, in order ("" for
// a handle type's row not used yet).
void BindingMetricsNames(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Array> out = v8::Array::New(isolate, DV8_METRICS_VALUES);
  char name[128];
  for (size_t i = 0; i < DV8_METRICS_VALUES; i++) {
    dv8__metrics_name(i, name, sizeof(name));
    out->Set(context, static_cast<uint32_t>(i), dv8::Str(isolate, name))
        .Check();
  }
  info.GetReturnValue().Set(out);
}

// binding.metricsRead(f64): this thread's figures into f64 (a
// Float64Array of DV8_METRICS_VALUES), nothing allocated.
void BindingMetricsRead(const FunctionCallbackInfo<Value> &info) {
  if (!info[0]->IsFloat64Array() ||
      info[0].As<v8::Float64Array>()->Length() != DV8_METRICS_VALUES)
    return ThrowType(info.GetIsolate(), "metricsRead: a Float64Array of the "
                                        "right length is needed");
  Local<v8::Float64Array> a = info[0].As<v8::Float64Array>();
  double *values = reinterpret_cast<double *>(
      static_cast<char *>(a->Buffer()->Data()) + a->ByteOffset());
  dv8__metrics_values(dv8::RuntimeOf(info.GetIsolate()), values);
}

// binding.metricAdd(name, help, n): n more of a counter of the metrics
// (builtins' own, as modules' metric_counter); false for a bad name.
void BindingMetricAdd(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString() || !info[1]->IsString() || !info[2]->IsNumber())
    return ThrowType(isolate, "metricAdd: (name, help, n)");
  std::string name = dv8::ToStdString(isolate, info[0]);
  std::string help = dv8::ToStdString(isolate, info[1]);
  double n = info[2].As<v8::Number>()->Value();
  uint64_t *cell =
      dv8__metrics_counter(dv8::RuntimeOf(isolate), name.c_str(), help.c_str());
  if (cell != nullptr && n > 0 && n < 9007199254740992.0)
    *cell += static_cast<uint64_t>(n);
  info.GetReturnValue().Set(cell != nullptr);
}

// binding.exit(code): stops the runtime; the JS on the stack unwinds by
// termination, so no line after exit() runs.
void BindingExit(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_env_t *env = EnvOfCall(info);
  int code = info[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  fflush(stdout);
  dv8__runtime_stop(env->rt, code);
  env->exited = true;
  isolate->TerminateExecution();
}

void BindingQueueMicrotask(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsFunction())
    return ThrowType(isolate, "queueMicrotask: argument 1 must be a function");
  isolate->EnqueueMicrotask(info[0].As<v8::Function>());
}

// binding.promiseState(p): [state, value] for inspect; state 0 pending,
// 1 fulfilled, 2 rejected.
void BindingPromiseState(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsPromise())
    return;
  Local<v8::Promise> p = info[0].As<v8::Promise>();
  Local<Value> pair[2] = {v8::Integer::New(isolate, p->State()),
                          p->State() == v8::Promise::kPending
                              ? v8::Undefined(isolate).As<Value>()
                              : p->Result()};
  info.GetReturnValue().Set(v8::Array::New(isolate, pair, 2));
}

void BindingEnviron(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Object> out = v8::Object::New(isolate);
  uv_env_item_t *items;
  int count;
  if (uv_os_environ(&items, &count) == 0) {
    for (int i = 0; i < count; i++)
      out->CreateDataProperty(context, dv8::Str(isolate, items[i].name),
                              dv8::Str(isolate, items[i].value))
          .Check();
    uv_os_free_environ(items, count);
  }
  info.GetReturnValue().Set(out);
}

// binding.handles(): the thread's live handles, [{ id, type, module,
// counters }], for leak checks and the reload tests' "handle count stays
// flat". module: the native module that lists the handle's type (ABI 3's
// dv8_module_t.types), absent for the host's own and unlisted types.
void BindingHandles(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_env_t *env = EnvOfCall(info);
  Local<v8::Context> context = isolate->GetCurrentContext();
  dv8_handle_table_t *table = &env->rt->handles;
  Local<v8::Array> out = v8::Array::New(isolate);
  uint32_t n = 0;
  for (dv8_handle_t *h = dv8__handles_next(table, nullptr); h != nullptr;
       h = dv8__handles_next(table, h)) {
    Local<v8::Object> entry = v8::Object::New(isolate);
    entry
        ->Set(context, dv8::Str(isolate, "id"),
              v8::Number::New(isolate, static_cast<double>(DV8_HEAD(h)->id)))
        .Check();
    entry
        ->Set(context, dv8::Str(isolate, "type"),
              dv8::Str(isolate, DV8_HEAD(h)->type->name))
        .Check();
    const char *module = dv8__native_module_of(DV8_HEAD(h)->type);
    if (module != nullptr)
      entry
          ->Set(context, dv8::Str(isolate, "module"), dv8::Str(isolate, module))
          .Check();
    entry
        ->Set(context, dv8::Str(isolate, "counters"),
              dv8::ToV8(dv8__api_table.handle_counters(env, h)))
        .Check();
    out->Set(context, n++, entry).Check();
  }
  info.GetReturnValue().Set(out);
}

// binding.setInspect(fn): the formatter used to print thrown non-Errors.
void BindingSetInspect(const FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = EnvOfCall(info);
  if (info[0]->IsFunction())
    env->inspect.Reset(info.GetIsolate(), info[0].As<v8::Function>());
}

// binding.setDeliver(fn, at): the function given each batch of posted
// events, and the Int32Array it writes its place into (api.cc).
void BindingSetDeliver(const FunctionCallbackInfo<Value> &info) {
  dv8_env_t *env = EnvOfCall(info);
  if (!info[0]->IsFunction() || !info[1]->IsInt32Array())
    return;
  Local<v8::Int32Array> at = info[1].As<v8::Int32Array>();
  if (at->Length() < 9) // the place, and a skip flag for each of 8
    return;
  env->deliver.Reset(info.GetIsolate(), info[0].As<v8::Function>());
  env->deliver_at_array.Reset(info.GetIsolate(), at);
  env->deliver_at = reinterpret_cast<int32_t *>(
      static_cast<char *>(at->Buffer()->GetBackingStore()->Data()) +
      at->ByteOffset());
}

// binding.detach(arrayBuffer): detaches it (structuredClone's transfer
// list); false if it cannot be (a WebAssembly.Memory's buffer) or is not an
// ArrayBuffer.
void BindingDetach(const FunctionCallbackInfo<Value> &info) {
  bool done = false;
  if (info[0]->IsArrayBuffer()) {
    Local<v8::ArrayBuffer> ab = info[0].As<v8::ArrayBuffer>();
    if (ab->IsDetachable()) {
      ab->Detach();
      done = true;
    }
  }
  info.GetReturnValue().Set(done);
}

// binding.setRepl(on): in the REPL, uncaught errors print and the REPL goes
// on instead of the process exiting.
void BindingSetRepl(const FunctionCallbackInfo<Value> &info) {
  EnvOfCall(info)->repl = info[0]->IsTrue();
}

// binding.setMuted(on): print() to stdout and stderr prints nothing (the
// REPL replaying its journal).
void BindingSetMuted(const FunctionCallbackInfo<Value> &info) {
  EnvOfCall(info)->muted = info[0]->IsTrue();
}

} // namespace

namespace dv8 {

void SetFn(v8::Isolate *isolate, Local<v8::Object> obj, const char *name,
           v8::FunctionCallback fn) {
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Function> f = v8::Function::New(context, fn, Local<Value>(), 0,
                                            v8::ConstructorBehavior::kThrow)
                              .ToLocalChecked();
  f->SetName(dv8::Str(isolate, name));
  obj->Set(context, dv8::Str(isolate, name), f).Check();
}

} // namespace dv8

namespace {

using dv8::SetFn;

Local<v8::Object> MakeBinding(dv8_env_t *env) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Object> b = v8::Object::New(isolate);
  SetFn(isolate, b, "builtin", BindingBuiltin);
  SetFn(isolate, b, "print", BindingPrint);
  SetFn(isolate, b, "loadNative", BindingLoadNative);
  SetFn(isolate, b, "evalScript", BindingEvalScript);
  SetFn(isolate, b, "utf8Encode", BindingUtf8Encode);
  SetFn(isolate, b, "utf8EncodeInto", BindingUtf8EncodeInto);
  SetFn(isolate, b, "utf8Decode", BindingUtf8Decode);
  SetFn(isolate, b, "utf8Write", BindingUtf8Write);
  SetFn(isolate, b, "utf8Length", BindingUtf8Length);
  SetFn(isolate, b, "utf8Slice", BindingUtf8Slice);
  SetFn(isolate, b, "findProxy", BindingFindProxy);
  SetFn(isolate, b, "hrtime", BindingHrtime);
  SetFn(isolate, b, "now", BindingNow);
  SetFn(isolate, b, "memoryUsage", BindingMemoryUsage);
  SetFn(isolate, b, "metricsNames", BindingMetricsNames);
  SetFn(isolate, b, "metricsRead", BindingMetricsRead);
  SetFn(isolate, b, "metricAdd", BindingMetricAdd);
  SetFn(isolate, b, "exit", BindingExit);
  SetFn(isolate, b, "queueMicrotask", BindingQueueMicrotask);
  SetFn(isolate, b, "promiseState", BindingPromiseState);
  SetFn(isolate, b, "environ", BindingEnviron);
  SetFn(isolate, b, "setInspect", BindingSetInspect);
  SetFn(isolate, b, "setDeliver", BindingSetDeliver);
  SetFn(isolate, b, "handles", BindingHandles);
  SetFn(isolate, b, "setRepl", BindingSetRepl);
  SetFn(isolate, b, "setMuted", BindingSetMuted);
  SetFn(isolate, b, "detach", BindingDetach);
  dv8::AddThreadBinding(isolate, b);
  dv8::AddReloadBinding(isolate, b);
  dv8::AddReplBinding(isolate, b);
  dv8_runtime_t *rt = env->rt;
  Local<v8::Array> args = v8::Array::New(isolate);
  for (int i = 1; i < rt->argc; i++)
    args->Set(context, i - 1, dv8::Str(isolate, rt->argv[i])).Check();
  b->Set(context, dv8::Str(isolate, "args"), args).Check();
  b->Set(context, dv8::Str(isolate, "pid"),
         v8::Integer::New(isolate, uv_os_getpid()))
      .Check();
  b->Set(context, dv8::Str(isolate, "version"),
         dv8::Str(isolate, DV8_VERSION_STRING))
      .Check();
  b->Set(context, dv8::Str(isolate, "v8Version"),
         dv8::Str(isolate, v8::V8::GetVersion()))
      .Check();
  b->Set(context, dv8::Str(isolate, "uvVersion"),
         dv8::Str(isolate, uv_version_string()))
      .Check();
  char exe[4096];
  size_t exe_len = sizeof(exe);
  if (uv_exepath(exe, &exe_len) == 0)
    b->Set(context, dv8::Str(isolate, "execPath"), dv8::Str(isolate, exe))
        .Check();
  // A helper process's channel (helper.js) and systemd's listening
  // sockets (dv8.listenFds), on the main thread only.
  bool main_thread = rt->thread == nullptr;
  b->Set(context, dv8::Str(isolate, "channelFd"),
         v8::Integer::New(isolate, main_thread ? dv8__channel_fd : -1))
      .Check();
  b->Set(context, dv8::Str(isolate, "channelMaxMessage"),
         v8::Number::New(isolate,
                         main_thread ? (double)dv8__channel_max_message : -1))
      .Check();
  Local<v8::Array> listen_fds = v8::Array::New(isolate);
  for (int i = 0; main_thread && i < dv8__listen_fds; i++)
    listen_fds->Set(context, i, v8::Integer::New(isolate, 3 + i)).Check();
  b->Set(context, dv8::Str(isolate, "listenFds"), listen_fds).Check();
  return b;
}

} // namespace

namespace dv8 {

bool IsJsModule(const std::string &name) {
  for (const char *m : kJsModules)
    if (name == m)
      return true;
  return false;
}

v8::MaybeLocal<v8::Object> JsModuleExports(dv8_env_t *env,
                                           const std::string &name) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<Value> exports;
  if (!RunBuiltin(context, name.c_str()).ToLocal(&exports))
    return v8::MaybeLocal<v8::Object>();
  return exports.As<v8::Object>();
}

} // namespace dv8

extern "C" dv8_env_t *dv8__context_new(dv8_runtime_t *rt) {
  v8::Isolate *isolate = rt->isolate->isolate;
  auto *env = new dv8_env_t();
  env->rt = rt;
  env->isolate = isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = v8::Context::New(isolate);
  if (context.IsEmpty()) {
    fprintf(stderr, "dv8: cannot create a V8 context\n");
    delete env;
    return nullptr;
  }
  context->SetAlignedPointerInEmbedderData(dv8::kEnvSlot, env);
  env->context.Reset(isolate, context);
  v8::Context::Scope context_scope(context);
  v8::TryCatch try_catch(isolate);
  Local<v8::Function> bootstrap;
  Local<v8::Object> binding = MakeBinding(env);
  Local<Value> argv[] = {binding};
  // Kept where user code cannot reach it, for builtins run later (the
  // REPL, JS modules such as serdes).
  context->Global()->SetPrivate(context, BindingKey(isolate), binding).Check();
  if (!CompileBuiltin(isolate, "bootstrap").ToLocal(&bootstrap) ||
      bootstrap->Call(context, context->Global(), 1, argv).IsEmpty()) {
    // A thread terminated while it starts has nothing to report.
    if (!try_catch.HasTerminated())
      dv8::ReportException(env, try_catch.Exception(), try_catch.Message(),
                           "dv8: bootstrap failed: ");
    env->context.Reset();
    delete env;
    return nullptr;
  }
  if (rt->env == nullptr)
    rt->env = env;
  return env;
}

extern "C" void dv8__context_dispose(dv8_env_t *env) {
  v8::Isolate *isolate = env->isolate;
  {
    v8::HandleScope scope(isolate);
    // Retiring a context, in order: its wraps are finalized (their native
    // memory freed), its module graph and references are dropped, and the
    // context itself is released for the next GC to collect.
    dv8::FinalizeWraps(env);
    dv8::DisposeModules(env);
    env->main_promise.Reset();
    env->inspect.Reset();
    env->repl_sigint.Reset();
    env->deliver.Reset();
    env->deliver_at_array.Reset();
    env->deliver_at = nullptr;
    Local<v8::Context> context = env->context.Get(isolate);
    context->SetAlignedPointerInEmbedderData(dv8::kEnvSlot, nullptr);
    env->context.Reset();
  }
  if (env->rt->env == env)
    env->rt->env = nullptr;
  dv8_isolate_t *iso = dv8::IsolateOf(isolate);
  iso->rejections.clear();
  delete env;
}

extern "C" int dv8__run_repl(dv8_env_t *env) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  v8::TryCatch try_catch(isolate);
  Local<Value> start;
  if (!RunBuiltin(context, "repl").ToLocal(&start) ||
      !start.As<v8::Function>()
           ->Call(context, v8::Undefined(isolate), 0, nullptr)
           .ToLocal(&start)) {
    dv8::ReportUncaught(env, try_catch);
    return 1;
  }
  dv8::RunMicrotasks(env);
  return 0;
}
