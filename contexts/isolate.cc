// The V8 platform, isolates and their memory limit (with the ArrayBuffer
// allocator that applies it), and what happens to errors: uncaught
// exceptions, unhandled rejections and microtask checkpoints.
//
// Threads: dv8__v8_init/dispose run once on the main thread; everything else
// runs on the isolate's own thread.
#include <libplatform/libplatform.h>
#include <sys/mman.h>
#include <unistd.h>

#include "contexts/internal.h"

using v8::Local;

namespace {

std::unique_ptr<v8::Platform> platform;

void OnPromiseReject(v8::PromiseRejectMessage message) {
  Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate *isolate = promise->GetIsolate();
  dv8_isolate_t *iso = dv8::IsolateOf(isolate);
  auto &list = iso->rejections;
  switch (message.GetEvent()) {
  case v8::kPromiseRejectWithNoHandler:
    list.emplace_back(v8::Global<v8::Promise>(isolate, promise),
                      v8::Global<v8::Value>(isolate, message.GetValue()));
    break;
  case v8::kPromiseHandlerAddedAfterReject:
    for (size_t i = 0; i < list.size(); i++) {
      if (list[i].first == promise) {
        list.erase(list.begin() + i);
        break;
      }
    }
    break;
  default:
    break;
  }
}

// Exceptions thrown where no TryCatch of ours is (a queued microtask).
void OnMessage(Local<v8::Message> message, Local<v8::Value> exception) {
  v8::Isolate *isolate = message->GetIsolate();
  dv8_runtime_t *rt = dv8::RuntimeOf(isolate);
  if (rt->stopping || rt->env == nullptr)
    return;
  dv8::ReportException(rt->env, exception, message, "Uncaught ");
  if (!rt->env->repl)
    dv8__runtime_stop(rt, 1);
}

void OnGC(v8::Isolate *isolate, v8::GCType type, v8::GCCallbackFlags) {
  dv8_isolate_t *iso = dv8::IsolateOf(isolate);
  iso->gc_start_ns = uv_hrtime();
  if (type & v8::kGCTypeMarkSweepCompact)
    iso->mark_sweeps++;
  else if (type & (v8::kGCTypeScavenge | v8::kGCTypeMinorMarkCompact))
    iso->scavenges++;
}

// The pause the prologue (OnGC) started, into the metrics.
void OnGCDone(v8::Isolate *isolate, v8::GCType, v8::GCCallbackFlags) {
  dv8_isolate_t *iso = dv8::IsolateOf(isolate);
  if (iso->gc_start_ns != 0)
    dv8__metrics_observe(dv8::RuntimeOf(isolate), DV8_HIST_GC,
                         uv_hrtime() - iso->gc_start_ns);
  iso->gc_start_ns = 0;
}

void OnFatalError(const char *location, const char *message) {
  fprintf(stderr, "dv8: fatal V8 error in %s: %s\n", location, message);
  fflush(stderr);
  abort();
}

void OnOOMError(const char *location, bool is_heap_oom) {
  fprintf(stderr, "dv8: out of memory (%s) in %s\n",
          is_heap_oom ? "JavaScript heap" : "process", location);
  fflush(stderr);
  abort();
}

} // namespace

// The memory limit of a runtime (a thread's heapLimitMb, the main
// program's --heap-limit), and the ArrayBuffer allocator every isolate
// shares.
//
// The limit covers the JS heap and ArrayBuffers together. The JS heap is
// V8's: the isolate is made with the limit as its heap size, and V8 calls
// OnNearHeapLimit when the heap reaches it. ArrayBuffer memory lies outside
// that heap, but V8 counts the bytes of the buffers each isolate holds (its
// external memory: counted when an ArrayBuffer is made over memory,
// uncounted when the buffer is detached or, once collected, swept). A
// buffer moved to another thread is so counted by the receiver from the
// moment its ArrayBuffer exists there, and no longer by the sender.
//
// The allocator refuses a buffer that would take those bytes plus the JS
// heap (as the last GC left it) past the limit. V8 then collects garbage
// (twice, then all it can) and asks again, so memory the program has let
// go of is found before anything is refused for good; if it still is, the
// allocation throws a RangeError and the runtime ends of its limit, as for
// the JS heap: an interrupt does it at the JS's next stack check (the
// allocator itself may not call into V8), the loop's check and the
// uncaught-error paths if the JS returned or threw first. Buffers of 64
// bytes or less are never refused: V8 treats the failure of some of those
// as fatal (a small typed array's .buffer), and each costs the JS heap more
// than its bytes anyway.
//
// The allocator is called on any thread, and applies the limit of the
// runtime whose thread that is (a thread-local pointer, set while that
// runtime's isolate lives).
namespace {

// What V8 itself keeps on the JS heap as a typed array's own storage.
constexpr size_t kAlwaysAdmitted = 64;

// This thread's isolate, while its runtime has a memory limit.
thread_local dv8_isolate_t *limited;

double Mib(size_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// Bytes of the ArrayBuffers the isolate holds (V8's count).
size_t Held(v8::Isolate *isolate) {
  int64_t bytes = isolate->AdjustAmountOfExternalAllocatedMemory(0);
  return bytes > 0 ? static_cast<size_t>(bytes) : 0;
}

// Whether len more bytes of ArrayBuffers fit; if not, remembers what was
// refused, for the message.
bool Fits(dv8_isolate_t *iso, size_t len) {
  dv8::MemoryLimit &m = iso->memory;
  size_t held = Held(iso->isolate);
  size_t used = held + m.heap_at_gc;
  if (used <= m.limit && len <= m.limit - used) {
    m.refused = 0;
    return true;
  }
  m.refused = len;
  m.refused_held = held;
  return false;
}

// The runtime ends of its limit: a thread's parent receives a RangeError,
// the main program prints why and exits with DV8_STATUS_HEAP_LIMIT. The
// JS running now is terminated.
void LimitReached(dv8_runtime_t *rt, bool buffers) {
  dv8::MemoryLimit &m = rt->isolate->memory;
  if (m.reached)
    return;
  m.reached = true;
  char detail[160] = "";
  if (buffers)
    snprintf(detail, sizeof(detail),
             " (ArrayBuffers: %.1f MiB held, %.1f MiB more asked for; "
             "JS heap: %.1f MiB)",
             Mib(m.refused_held), Mib(m.refused), Mib(m.heap_at_gc));
  char msg[256];
  if (rt->thread != nullptr) {
    snprintf(msg, sizeof(msg), "thread heap limit of %zu MiB reached%s",
             rt->heap_limit_mb, detail);
    dv8__thread_set_error(rt, "RangeError", msg, nullptr);
    dv8__runtime_stop(rt, 1);
  } else {
    fflush(stdout);
    fprintf(stderr, "dv8: heap limit of %zu MiB (--heap-limit) reached%s\n",
            rt->heap_limit_mb, detail);
    fflush(stderr);
    dv8__runtime_stop(rt, DV8_STATUS_HEAP_LIMIT);
  }
  rt->isolate->isolate->TerminateExecution();
}

// The JS heap reached the limit: the runtime ends, and V8 gets room to
// unwind the JS that is terminated.
size_t OnNearHeapLimit(void *data, size_t current, size_t initial) {
  (void)initial;
  LimitReached(static_cast<dv8_runtime_t *>(data), false);
  return current * 2;
}

// How much of the limit the JS heap takes, for the allocator's sums.
void OnGCEnd(v8::Isolate *isolate, v8::GCType, v8::GCCallbackFlags) {
  v8::HeapStatistics hs;
  isolate->GetHeapStatistics(&hs);
  dv8::IsolateOf(isolate)->memory.heap_at_gc = hs.used_heap_size();
}

// If the allocator's last answer was a refusal, rt ends of its limit.
// Called where JS has returned or thrown, and by the interrupt below.
void MemoryCheck(dv8_runtime_t *rt) {
  dv8::MemoryLimit &m = rt->isolate->memory;
  if (m.refused != 0 && !m.reached)
    LimitReached(rt, true);
}

// Requested by the allocator when it refused a buffer: by now V8 has
// collected garbage and asked again, and the last answer stands.
void OnRefusedInterrupt(v8::Isolate *isolate, void *) {
  dv8_runtime_t *rt = dv8::RuntimeOf(isolate);
  rt->isolate->memory.interrupt_pending = false;
  MemoryCheck(rt);
}

bool Admit(size_t len) {
  dv8_isolate_t *iso = limited;
  if (iso == nullptr || len <= kAlwaysAdmitted)
    return true;
  if (Fits(iso, len))
    return true;
  if (!iso->memory.interrupt_pending) {
    iso->memory.interrupt_pending = true;
    iso->isolate->RequestInterrupt(OnRefusedInterrupt, nullptr);
  }
  return false;
}

// The limit in front of two allocators. ArrayBuffers of 2 MiB and more
// get memory of their own, mapped at a 2 MiB boundary and offered to the
// kernel for transparent huge pages (MADV_HUGEPAGE; the machine's THP
// setting decides). Such buffers are filled by a copy right away (a
// message arriving, an encode, a file read), and touching fresh memory one
// 4 KiB page at a time is what they cost: a fault per page, measured at
// 18-30 us on this VM, so a fresh 64 MiB buffer took 200-330 ms to fill
// against 10-30 ms on huge pages (4 ms for a warm memcpy). Memory is still
// taken as it is touched (2 MiB at a time), so a buffer sized from a header
// that lies costs address space, not RAM. Smaller buffers keep V8's
// allocator (calloc). The hot path of a runtime without a limit is one
// thread-local load more than V8's own.
class BufferAllocator final : public v8::ArrayBuffer::Allocator {
public:
  void *Allocate(size_t length) override {
    if (!Admit(length))
      return nullptr;
    return length >= kHuge ? MapHuge(length) : small_->Allocate(length);
  }
  void *AllocateUninitialized(size_t length) override {
    if (!Admit(length))
      return nullptr;
    return length >= kHuge ? MapHuge(length)
                           : small_->AllocateUninitialized(length);
  }
  void Free(void *data, size_t length) override {
    if (length >= kHuge)
      munmap(data, PageRound(length));
    else
      small_->Free(data, length);
  }
  void *Reallocate(void *data, size_t old_length, size_t new_length) override {
    if (new_length > old_length && !Admit(new_length - old_length))
      return nullptr;
    if (old_length < kHuge && new_length < kHuge)
      return small_->Reallocate(data, old_length, new_length);
    // Across the two kinds: a new buffer (zeroed), the bytes, the old freed.
    void *p = new_length >= kHuge ? MapHuge(new_length)
                                  : small_->Allocate(new_length);
    if (p == nullptr)
      return nullptr;
    memcpy(p, data, old_length < new_length ? old_length : new_length);
    Free(data, old_length);
    return p;
  }

private:
  static constexpr size_t kHuge = size_t{2} << 20;
  static size_t PageRound(size_t n) { return (n + 4095) & ~size_t{4095}; }
  // Fresh anonymous memory is zeroed: both kinds of allocation come here.
  static void *MapHuge(size_t length) {
    size_t size = PageRound(length);
    size_t span = size + kHuge - 4096;
    void *p = mmap(nullptr, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return nullptr;
    uintptr_t start = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
    if (aligned > start)
      munmap(p, aligned - start);
    if (aligned + size < start + span)
      munmap(reinterpret_cast<void *>(aligned + size),
             start + span - (aligned + size));
    void *data = reinterpret_cast<void *>(aligned);
    madvise(data, size, MADV_HUGEPAGE); // advice: refused is fine
    return data;
  }
  std::unique_ptr<v8::ArrayBuffer::Allocator> small_{
      v8::ArrayBuffer::Allocator::NewDefaultAllocator()};
};

void FreeMalloced(void *data, size_t, void *) { free(data); }

// The allocator every isolate shares: a buffer moved to another thread may
// outlive the isolate that made it.
std::shared_ptr<v8::ArrayBuffer::Allocator> SharedAllocator() {
  static std::shared_ptr<v8::ArrayBuffer::Allocator> allocator(
      new BufferAllocator());
  return allocator;
}

// Before the isolate is made: its heap size, from rt's limit.
void MemoryLimitConfigure(dv8_runtime_t *rt,
                          v8::Isolate::CreateParams *params) {
  if (rt->heap_limit_mb > 0)
    params->constraints.ConfigureDefaultsFromHeapSize(0, rt->heap_limit_mb *
                                                             (size_t{1} << 20));
}

// Once rt's isolate exists (on its thread), and before it is disposed.
void MemoryLimitStart(dv8_runtime_t *rt) {
  if (rt->heap_limit_mb == 0)
    return;
  dv8_isolate_t *iso = rt->isolate;
  iso->memory.limit = rt->heap_limit_mb * (size_t{1} << 20);
  iso->isolate->AddNearHeapLimitCallback(OnNearHeapLimit, rt);
  iso->isolate->AddGCEpilogueCallback(OnGCEnd);
  limited = iso;
}

void MemoryLimitStop(dv8_runtime_t *rt) {
  if (limited == rt->isolate)
    limited = nullptr;
}

} // namespace

namespace dv8 {

bool MemoryAllows(dv8_runtime_t *rt, size_t len) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso->memory.limit == 0 || len <= kAlwaysAdmitted)
    return true;
  if (iso->memory.reached)
    return false;
  if (Fits(iso, len))
    return true;
  iso->isolate->LowMemoryNotification();
  if (Fits(iso, len))
    return true;
  LimitReached(rt, true);
  return false;
}

v8::MaybeLocal<v8::ArrayBuffer> NewArrayBuffer(v8::Isolate *isolate,
                                               size_t len) {
  void *mem = MemoryAllows(RuntimeOf(isolate), len) ? malloc(len > 0 ? len : 1)
                                                    : nullptr;
  if (mem == nullptr) {
    char msg[96];
    snprintf(msg, sizeof(msg), "cannot allocate an ArrayBuffer of %zu bytes",
             len);
    isolate->ThrowException(v8::Exception::RangeError(Str(isolate, msg)));
    return v8::MaybeLocal<v8::ArrayBuffer>();
  }
  return v8::ArrayBuffer::New(isolate, v8::ArrayBuffer::NewBackingStore(
                                           mem, len, FreeMalloced, nullptr));
}

std::string ToStdString(v8::Isolate *isolate, Local<v8::Value> value) {
  v8::String::Utf8Value utf8(isolate, value);
  if (*utf8)
    return std::string(*utf8, utf8.length());
  // Not convertible (a Symbol, an object without toString, one whose
  // toString throws): said as well as can be without running its code.
  if (value->IsSymbol()) {
    Local<v8::Value> d = value.As<v8::Symbol>()->Description(isolate);
    return "Symbol(" + (d->IsString() ? ToStdString(isolate, d) : "") + ")";
  }
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::String> tag;
  v8::TryCatch ignore(isolate); // a throwing Symbol.toStringTag getter
  if (value->IsObject() && !context.IsEmpty() &&
      value.As<v8::Object>()->ObjectProtoToString(context).ToLocal(&tag))
    return ToStdString(isolate, tag); // "[object Object]"
  return "(a value that cannot be converted to a string)";
}

// The text to print for a thrown value: an Error's stack, or the value as
// inspect() shows it.
std::string DescribeException(dv8_env_t *env, Local<v8::Value> exception) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = isolate->GetCurrentContext();
  v8::TryCatch inner(isolate);
  // An Error with a cause or own properties (code, errno, path...) prints
  // them after its stack, as node does ("{ code: 'ENOENT', [cause]: ... }"):
  // inspect() shows them; a plain Error is its stack alone.
  bool plain_error = false;
  if (exception->IsNativeError()) {
    Local<v8::Object> error = exception.As<v8::Object>();
    Local<v8::Array> own;
    plain_error = !error->HasOwnProperty(context, dv8::Str(isolate, "cause"))
                       .FromMaybe(false) &&
                  error->GetOwnPropertyNames(context).ToLocal(&own) &&
                  own->Length() == 0;
    Local<v8::Value> stack;
    if ((plain_error || env->inspect.IsEmpty()) &&
        error->Get(context, dv8::Str(isolate, "stack")).ToLocal(&stack) &&
        stack->IsString())
      return ToStdString(isolate, stack);
  }
  if (!env->inspect.IsEmpty()) {
    Local<v8::Value> argv[] = {exception};
    Local<v8::Value> text;
    if (env->inspect.Get(isolate)
            ->Call(context, v8::Undefined(isolate), 1, argv)
            .ToLocal(&text))
      return ToStdString(isolate, text);
  }
  return ToStdString(isolate, exception);
}

Local<v8::String> Str(v8::Isolate *isolate, const char *s) {
  return v8::String::NewFromUtf8(isolate, s).ToLocalChecked();
}

Local<v8::String> Str(v8::Isolate *isolate, const std::string &s) {
  return v8::String::NewFromUtf8(isolate, s.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(s.size()))
      .ToLocalChecked();
}

Local<v8::Value> LoadError(v8::Isolate *isolate, const std::string &msg) {
  Local<v8::Value> error = v8::Exception::Error(Str(isolate, msg));
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Private> key =
      v8::Private::ForApi(isolate, Str(isolate, "dv8.loadError"));
  error.As<v8::Object>()->SetPrivate(context, key, v8::True(isolate)).Check();
  return error;
}

static bool IsLoadError(v8::Isolate *isolate, Local<v8::Value> exception) {
  if (!exception->IsObject())
    return false;
  Local<v8::Context> context = isolate->GetCurrentContext();
  Local<v8::Private> key =
      v8::Private::ForApi(isolate, Str(isolate, "dv8.loadError"));
  Local<v8::Value> flag;
  return exception.As<v8::Object>()->GetPrivate(context, key).ToLocal(&flag) &&
         flag->IsTrue();
}

void ReportException(dv8_env_t *env, Local<v8::Value> exception,
                     Local<v8::Message> message, const char *prefix) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  fflush(stdout);
  if (IsLoadError(isolate, exception)) {
    Local<v8::Value> msg =
        exception.As<v8::Object>()
            ->Get(isolate->GetCurrentContext(), Str(isolate, "message"))
            .ToLocalChecked();
    fprintf(stderr, "dv8: %s\n", ToStdString(isolate, msg).c_str());
    fflush(stderr);
    return;
  }
  std::string out;
  if (message.IsEmpty())
    message = v8::Exception::CreateMessage(isolate, exception);
  // Where it was thrown, with the source line and a caret, as node does:
  // the stack alone does not show the code.
  if (!message.IsEmpty()) {
    Local<v8::Context> context = isolate->GetCurrentContext();
    std::string file = ToStdString(isolate, message->GetScriptResourceName());
    int line = message->GetLineNumber(context).FromMaybe(0);
    Local<v8::String> source_line;
    if (line > 0 && message->GetSourceLine(context).ToLocal(&source_line)) {
      std::string src = ToStdString(isolate, source_line);
      int col = message->GetStartColumn(context).FromMaybe(0);
      out += file + ":" + std::to_string(line) + "\n" + src + "\n";
      out += std::string(col > 0 ? col : 0, ' ') + "^\n\n";
    }
  }
  out += prefix;
  out += DescribeException(env, exception);
  fprintf(stderr, "%s\n", out.c_str());
  fflush(stderr);
}

void ReportUncaught(dv8_env_t *env, v8::TryCatch &try_catch) {
  dv8_runtime_t *rt = env->rt;
  // What dv8.exit() cuts short is a turn that ended; any other termination
  // (a deadline, the heap limit, a thread terminated) tore it.
  if (!(try_catch.HasTerminated() && env->exited))
    env->turn_threw = true;
  // The RangeError of an ArrayBuffer refused for good: the runtime ends of
  // its memory limit instead.
  MemoryCheck(rt);
  if (try_catch.HasTerminated() || rt->stopping) {
    dv8__runtime_stop(rt, rt->exit_code);
    return;
  }
  // A thread's error goes to its parent, which prints it if it does not
  // handle it.
  if (rt->thread != nullptr)
    RecordThreadError(env, try_catch.Exception());
  else
    ReportException(env, try_catch.Exception(), try_catch.Message(),
                    env->repl ? "Uncaught " : "");
  if (!env->repl)
    dv8__runtime_stop(rt, 1);
}

// Calls env's turn hook with reason (in a TryCatch of the caller's); false
// if it threw.
static bool CallTurnHook(dv8_env_t *env, int reason) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  Local<v8::Value> argv[1] = {v8::Integer::New(isolate, reason)};
  return !env->turn_hook.Get(isolate)
              ->Call(context, v8::Undefined(isolate), 1, argv)
              .IsEmpty();
}

// The end of an armed turn: the hook's END, or THREW when an uncaught
// exception ended it.
static void EndTurn(dv8_env_t *env) {
  int reason = env->turn_threw ? DV8_TURN_THREW : DV8_TURN_END;
  env->turn_armed = false;
  env->turn_threw = false;
  if (env->turn_hook.IsEmpty())
    return;
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  v8::TryCatch try_catch(isolate);
  if (!CallTurnHook(env, reason))
    ReportUncaught(env, try_catch);
}

void RunMicrotasks(dv8_env_t *env) {
  dv8_runtime_t *rt = env->rt;
  if (rt->stopping)
    return;
  v8::Isolate *isolate = env->isolate;
  isolate->PerformMicrotaskCheckpoint();
  auto &list = IsolateOf(isolate)->rejections;
  if (!list.empty()) {
    MemoryCheck(rt); // as in ReportUncaught
    if (rt->stopping)
      return;
    v8::HandleScope scope(isolate);
    Local<v8::Promise> promise = list.front().first.Get(isolate);
    Local<v8::Value> reason = list.front().second.Get(isolate);
    list.clear();
    ReportRejection(env, reason,
                    !env->main_promise.IsEmpty() &&
                        env->main_promise == promise);
  }
  if (rt->stopping)
    return;
  if (env->turn_armed || env->turn_always)
    EndTurn(env);
  else
    env->turn_threw = false;
}

bool TurnHandover(dv8_env_t *env, int reason, std::string *why) {
  v8::Isolate *isolate = env->isolate;
  // dv8.exit() terminated the JS that called it; the hook still runs.
  if (isolate->IsExecutionTerminating())
    isolate->CancelTerminateExecution();
  if (env->turn_armed || env->turn_always)
    EndTurn(env);
  if (env->turn_hook.IsEmpty())
    return true;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  v8::TryCatch try_catch(isolate);
  if (CallTurnHook(env, reason))
    return true;
  *why = try_catch.HasTerminated()
             ? std::string("terminated")
             : DescribeException(env, try_catch.Exception());
  return false;
}

void ReportRejection(dv8_env_t *env, Local<v8::Value> reason, bool is_main) {
  dv8_runtime_t *rt = env->rt;
  env->turn_threw = true;
  if (rt->stopping)
    return;
  // The entry module's own failure reads as an uncaught exception.
  if (rt->thread != nullptr)
    RecordThreadError(env, reason);
  else
    ReportException(env, reason, Local<v8::Message>(),
                    is_main ? "" : "Uncaught (in promise) ");
  if (!env->repl)
    dv8__runtime_stop(rt, 1);
}

} // namespace dv8

extern "C" int dv8__v8_init(const char *exe_path, const char *v8_flags) {
  v8::V8::InitializeICUDefaultLocation(exe_path);
  v8::V8::InitializeExternalStartupData(exe_path);
  // The snapshot comes from the installed libnode; checking its checksum
  // costs every new isolate (each worker thread) a pass over it.
  static const char kDefaults[] = "--no-verify-snapshot-checksum";
  v8::V8::SetFlagsFromString(kDefaults, sizeof(kDefaults) - 1);
  if (v8_flags != nullptr)
    v8::V8::SetFlagsFromString(v8_flags);
  platform = v8::platform::NewDefaultPlatform();
  v8::V8::InitializePlatform(platform.get());
  if (!v8::V8::Initialize())
    return UV_EINVAL;
  dv8::InitThreads();
  dv8::InitSlots();
  dv8__metrics_heap = dv8__isolate_heap;
  return 0;
}

extern "C" void dv8__v8_dispose(void) {
  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  platform.reset();
}

namespace {

// V8 posts work for the isolate's own thread to the platform: incremental
// marking steps, GC finalization, the memory reducer, FinalizationRegistry
// cleanups. Without running them, every GC happens at an allocation that
// hits a limit, whole, wherever that allocation is (inside a reload's
// pause, say); run after each loop iteration, they spread the work out
// between events.
void OnPump(uv_check_t *check) {
  auto *iso = static_cast<dv8_isolate_t *>(check->data);
  auto *rt = static_cast<dv8_runtime_t *>(iso->isolate->GetData(0));
  // An ArrayBuffer refused for good while JS ran, which then returned.
  MemoryCheck(rt);
  if (rt->stopping)
    return;
  // The events the poll phase posted (slot_post), in one call into JS.
  dv8::DeliverPosted(iso);
  if (rt->stopping)
    return;
  while (v8::platform::PumpMessageLoop(
      platform.get(), iso->isolate,
      v8::platform::MessageLoopBehavior::kDoNotWait)) {
  }
}

} // namespace

extern "C" int dv8__isolate_new(dv8_runtime_t *rt) {
  auto *iso = new dv8_isolate_t();
  v8::Isolate::CreateParams params;
  // One allocator for every isolate, held by each: a buffer transferred to
  // another thread may outlive the isolate that allocated it.
  params.array_buffer_allocator_shared = SharedAllocator();
  MemoryLimitConfigure(rt, &params);
  v8::Isolate *isolate = v8::Isolate::New(params);
  if (isolate == nullptr) {
    delete iso;
    return UV_ENOMEM;
  }
  iso->isolate = isolate;
  rt->isolate = iso;
  // The isolate belongs to this thread for its whole life: entered once
  // here, left in dv8__isolate_dispose.
  isolate->Enter();
  isolate->SetData(0, rt);
  isolate->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
  isolate->SetPromiseRejectCallback(OnPromiseReject);
  isolate->AddMessageListener(OnMessage);
  isolate->SetFatalErrorHandler(OnFatalError);
  isolate->SetOOMErrorHandler(OnOOMError);
  isolate->AddGCPrologueCallback(OnGC);
  isolate->AddGCEpilogueCallback(OnGCDone);
  isolate->SetCaptureStackTraceForUncaughtExceptions(true, 16);
  MemoryLimitStart(rt);
  dv8::InitLoader(isolate);
  uv_check_init(&rt->loop, &iso->pump);
  iso->pump.data = iso;
  uv_unref(reinterpret_cast<uv_handle_t *>(&iso->pump));
  uv_check_start(&iso->pump, OnPump);
  {
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope scope(isolate);
    Local<v8::ObjectTemplate> tmpl = v8::ObjectTemplate::New(isolate);
    tmpl->SetInternalFieldCount(2); // the Wrapped, and the tag
    iso->wrap_template.Reset(isolate, tmpl);
  }
  return 0;
}

// Called by the fatal signal handler on the crashed thread, whatever V8 was
// doing. Frames are formatted here, as Error.stack does: V8 10.2's
// Message::PrintCurrentStackTrace runs them together on one line and, with
// lazily collected source positions, puts every frame at line 1. The text
// is built first so that it reaches fd in one write, after the native stack.
extern "C" void dv8__crash_print_js_stack(dv8_runtime_t *rt, int fd,
                                          uintptr_t stack_low) {
  if (rt->isolate == nullptr)
    return;
  v8::Isolate *isolate = rt->isolate->isolate;
  // V8 measures its stack use against the thread's own stack; on another
  // one it would find itself past the limit, and a frame whose source
  // positions are not collected yet (V8 collects them lazily, by parsing
  // again) would print as line 1.
  if (stack_low != 0)
    isolate->SetStackLimit(stack_low);
  v8::HandleScope scope(isolate);
  Local<v8::StackTrace> trace = v8::StackTrace::CurrentStackTrace(isolate, 64);
  if (trace->GetFrameCount() == 0)
    return;
  std::string text = "JavaScript stack:\n";
  for (int i = 0; i < trace->GetFrameCount(); i++) {
    Local<v8::StackFrame> frame = trace->GetFrame(isolate, i);
    Local<v8::String> name = frame->GetFunctionName();
    Local<v8::String> file = frame->GetScriptName();
    std::string where =
        (file.IsEmpty() ? "<unknown>" : dv8::ToStdString(isolate, file)) + ":" +
        std::to_string(frame->GetLineNumber()) + ":" +
        std::to_string(frame->GetColumn());
    text += "    at ";
    if (name.IsEmpty() || name->Length() == 0)
      text += where + "\n";
    else
      text += dv8::ToStdString(isolate, name) + " (" + where + ")\n";
  }
  for (size_t done = 0; done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0)
      break;
    done += static_cast<size_t>(n);
  }
}

extern "C" int dv8__turn_last(dv8_env_t *env) {
  std::string why;
  if (env == nullptr || dv8::TurnHandover(env, DV8_TURN_LEAVE, &why))
    return 0;
  fflush(stdout);
  fprintf(stderr, "dv8: at exit: %s\n", why.c_str());
  fflush(stderr);
  return 1;
}

extern "C" void dv8__isolate_dispose(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso == nullptr)
    return;
  iso->posted.clear();
  iso->batch.clear();
  dv8::DisposeRetired(iso);
  MemoryLimitStop(rt);
  iso->rejections.clear();
  iso->wrap_template.Reset();
  iso->isolate->Exit();
  iso->isolate->Dispose();
  delete iso;
  rt->isolate = nullptr;
}

extern "C" void dv8__isolate_heap(dv8_runtime_t *rt, uint64_t out[3]) {
  v8::HeapStatistics hs;
  rt->isolate->isolate->GetHeapStatistics(&hs);
  out[0] = hs.used_heap_size();
  out[1] = hs.total_heap_size();
  out[2] = hs.external_memory();
}
