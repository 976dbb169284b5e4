// The V8 platform, isolates, the ArrayBuffer allocator they share, and what
// happens to errors: uncaught exceptions, unhandled rejections and
// microtask checkpoints.
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
  if (type & v8::kGCTypeMarkSweepCompact)
    iso->mark_sweeps++;
  else if (type & (v8::kGCTypeScavenge | v8::kGCTypeMinorMarkCompact))
    iso->scavenges++;
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

namespace dv8 {

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
  if (exception->IsNativeError()) {
    Local<v8::Value> stack;
    if (exception.As<v8::Object>()
            ->Get(context, dv8::Str(isolate, "stack"))
            .ToLocal(&stack) &&
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

void RunMicrotasks(dv8_env_t *env) {
  dv8_runtime_t *rt = env->rt;
  if (rt->stopping)
    return;
  v8::Isolate *isolate = env->isolate;
  isolate->PerformMicrotaskCheckpoint();
  auto &list = IsolateOf(isolate)->rejections;
  if (list.empty() || rt->stopping)
    return;
  v8::HandleScope scope(isolate);
  Local<v8::Promise> promise = list.front().first.Get(isolate);
  Local<v8::Value> reason = list.front().second.Get(isolate);
  list.clear();
  ReportRejection(env, reason,
                  !env->main_promise.IsEmpty() && env->main_promise == promise);
}

void ReportRejection(dv8_env_t *env, Local<v8::Value> reason, bool is_main) {
  dv8_runtime_t *rt = env->rt;
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

namespace {

// ArrayBuffers of 2 MiB and more get memory of their own, mapped at a
// 2 MiB boundary and offered to the kernel for transparent huge pages
// (MADV_HUGEPAGE; the machine's THP setting decides). Such buffers are
// filled by a copy right away (a message arriving, an encode, a file
// read), and touching fresh memory one 4 KiB page at a time is what they
// cost: a fault per page, measured at 18-30 us on this VM, so a fresh
// 64 MiB buffer took 300-500 ms to fill against 38 ms on huge pages
// (4 ms for a warm memcpy). Memory is still taken as it is touched (2 MiB
// at a time), so a buffer sized from a header that lies costs address
// space, not RAM. Smaller buffers keep V8's allocator (calloc).
class BufferAllocator final : public v8::ArrayBuffer::Allocator {
public:
  void *Allocate(size_t length) override {
    return length >= kHuge ? MapHuge(length) : small_->Allocate(length);
  }
  void *AllocateUninitialized(size_t length) override {
    return length >= kHuge ? MapHuge(length)
                           : small_->AllocateUninitialized(length);
  }
  void Free(void *data, size_t length) override {
    if (length >= kHuge)
      munmap(data, PageRound(length));
    else
      small_->Free(data, length);
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

std::shared_ptr<v8::ArrayBuffer::Allocator> SharedAllocator() {
  static std::shared_ptr<v8::ArrayBuffer::Allocator> allocator =
      std::make_shared<BufferAllocator>();
  return allocator;
}

// A thread with a heap limit that reaches it ends with an error instead of
// taking the process down: V8 gets room to unwind, the thread's JS is
// terminated, and the parent receives a RangeError.
size_t OnNearHeapLimit(void *data, size_t current, size_t initial) {
  (void)initial;
  auto *rt = static_cast<dv8_runtime_t *>(data);
  char msg[96];
  snprintf(msg, sizeof(msg), "thread heap limit of %zu MiB reached",
           rt->heap_limit_mb);
  dv8__thread_set_error(rt, "RangeError", msg, nullptr);
  dv8__runtime_stop(rt, 1);
  rt->isolate->isolate->TerminateExecution();
  return current * 2;
}

} // namespace

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
  if (rt->heap_limit_mb > 0)
    params.constraints.ConfigureDefaultsFromHeapSize(0,
                                                     rt->heap_limit_mb << 20);
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
  isolate->SetCaptureStackTraceForUncaughtExceptions(true, 16);
  if (rt->heap_limit_mb > 0)
    isolate->AddNearHeapLimitCallback(OnNearHeapLimit, rt);
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

extern "C" void dv8__isolate_dispose(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso == nullptr)
    return;
  dv8::DisposeRetired(iso);
  iso->rejections.clear();
  iso->wrap_template.Reset();
  iso->isolate->Exit();
  iso->isolate->Dispose();
  delete iso;
  rt->isolate = nullptr;
}
