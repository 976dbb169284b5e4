// The reload transaction (DESIGN.md): replace a thread's code with a fresh
// context loaded from disk, carrying the app's state across as serdes
// bytes; a reload that fails at any step changes nothing.
//
// Net streams and thread ports cross (their callbacks switch to what the
// new code bound); the old code's timers are cleared at commit
// (docs/reload.md). Any other open handle makes a reload refuse.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <string>

#include "contexts/internal.h"

using v8::Local;
using v8::Value;

unsigned dv8__reload_deadline_ms = 1000;
int dv8__watch_all = 0;

namespace {

// The reload deadline. JS that never returns (a load() stuck in a loop) can
// only be interrupted from another thread, with TerminateExecution: one
// watchdog thread serves every runtime of the process, sleeping until the
// earliest armed deadline. It is made at the first reload and lives as
// long as the process.
struct Deadline {
  v8::Isolate *isolate;
  uint64_t at; // uv_hrtime()
  bool fired;
};

struct Watchdog {
  uv_mutex_t lock;
  uv_cond_t cond;
  std::vector<Deadline *> armed;
};

Watchdog *watchdog;
uv_once_t watchdog_once = UV_ONCE_INIT;

void *WatchdogRun(void *) {
  Watchdog *w = watchdog;
  uv_mutex_lock(&w->lock);
  for (;;) {
    if (w->armed.empty()) {
      uv_cond_wait(&w->cond, &w->lock);
      continue;
    }
    auto first = std::min_element(
        w->armed.begin(), w->armed.end(),
        [](Deadline *a, Deadline *b) { return a->at < b->at; });
    uint64_t now = uv_hrtime();
    if ((*first)->at <= now) {
      (*first)->fired = true;
      (*first)->isolate->TerminateExecution();
      w->armed.erase(first);
      continue;
    }
    uv_cond_timedwait(&w->cond, &w->lock, (*first)->at - now);
  }
  return nullptr;
}

void WatchdogStart() {
  watchdog = new Watchdog();
  CHECK(uv_mutex_init(&watchdog->lock) == 0);
  CHECK(uv_cond_init(&watchdog->cond) == 0);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigset_t all, old;
  sigfillset(&all); // signals are the loops' business, not the watchdog's
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t tid;
  CHECK(pthread_create(&tid, &attr, WatchdogRun, nullptr) == 0);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
}

void ArmDeadline(Deadline *d, v8::Isolate *isolate) {
  uv_once(&watchdog_once, WatchdogStart);
  d->isolate = isolate;
  d->at =
      uv_hrtime() + static_cast<uint64_t>(dv8__reload_deadline_ms) * 1000000;
  d->fired = false;
  uv_mutex_lock(&watchdog->lock);
  watchdog->armed.push_back(d);
  uv_cond_signal(&watchdog->cond);
  uv_mutex_unlock(&watchdog->lock);
}

// Whether the deadline had passed; if so the isolate may run JS again.
bool DisarmDeadline(Deadline *d) {
  uv_mutex_lock(&watchdog->lock);
  auto it = std::find(watchdog->armed.begin(), watchdog->armed.end(), d);
  if (it != watchdog->armed.end())
    watchdog->armed.erase(it);
  bool fired = d->fired;
  uv_mutex_unlock(&watchdog->lock);
  if (fired)
    d->isolate->CancelTerminateExecution();
  return fired;
}

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

dv8::ModuleEntry *MainEntry(dv8_env_t *env) {
  for (auto &m : env->modules)
    if (m->main)
      return m.get();
  return nullptr;
}

// The entry module's namespace export `name`, or undefined.
Local<Value> Export(dv8_env_t *env, const char *name) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  dv8::ModuleEntry *main = MainEntry(env);
  if (main == nullptr)
    return v8::Undefined(isolate);
  Local<v8::Module> module = main->module.Get(isolate);
  if (module->GetStatus() != v8::Module::kEvaluated)
    return v8::Undefined(isolate);
  Local<v8::Object> ns = module->GetModuleNamespace().As<v8::Object>();
  Local<Value> v;
  if (!ns->Get(context, dv8::Str(isolate, name)).ToLocal(&v))
    return v8::Undefined(isolate);
  return v;
}

// An exception's message alone (serdes errors name the path; their stack
// is serdes' own).
std::string Message(dv8_env_t *env, Local<Value> exception) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  Local<Value> message;
  if (exception->IsObject() && exception.As<v8::Object>()
                                   ->Get(context, dv8::Str(isolate, "message"))
                                   .ToLocal(&message)) {
    return dv8::ToStdString(isolate, message);
  }
  return dv8::DescribeException(env, exception);
}

struct Transaction {
  dv8_runtime_t *rt = nullptr;
  dv8_env_t *old_env = nullptr;
  dv8_env_t *new_env = nullptr;
  std::vector<dv8_handle_t *> timers; // the old code's, paused meanwhile
  // Net streams and thread ports cross: paused meanwhile, then moved to the
  // new context.
  std::vector<dv8_handle_t *> crossing;
  std::string error;
  const char *step = "prepare"; // what runs, for a deadline's message
  bool share_buffers = true;    // false: to another process, copied
  // The old code's ArrayBuffers whose memory the new code now shares:
  // detached at commit, so that V8 counts their memory once.
  std::vector<v8::Global<v8::ArrayBuffer>> moved_from;

  bool Fail(const std::string &why) {
    error = why;
    return false;
  }

  // Old code's handles, as their types say: those that cross are paused
  // and then move to the new code; those cleared are paused and closed at
  // commit; one that can do neither makes the reload refuse.
  bool Check() {
    dv8_handle_table_t *t = &rt->handles;
    for (dv8_handle_t *h = dv8__handles_next(t, nullptr); h != nullptr;
         h = dv8__handles_next(t, h)) {
      dv8_head_t *hh = DV8_HEAD(h);
      if ((hh->flags & DV8_HANDLE_CLOSING) != 0)
        continue;
      if (hh->type->on_reload == DV8_CROSS_CLEAR) {
        timers.push_back(h);
        continue;
      }
      if (hh->type->on_reload == DV8_CROSS_KEEP) {
        crossing.push_back(h);
        continue;
      }
      return Fail(std::string("a ") + hh->type->name + " (handle " +
                  std::to_string(hh->id) +
                  ") is open, and it cannot cross a reload");
    }
    return true;
  }

  // A fresh context with the entry module loaded from disk and evaluated.
  bool Prepare() {
    new_env = dv8__context_new(rt);
    if (new_env == nullptr)
      return Fail("cannot create a context");
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    v8::Context::Scope context_scope(new_env->context.Get(isolate));
    v8::TryCatch try_catch(isolate);
    if (dv8::LoadMain(new_env, old_env->main_path) != 0) {
      return Fail(try_catch.HasCaught() && !try_catch.HasTerminated()
                      ? dv8::DescribeException(new_env, try_catch.Exception())
                      : "the new code failed to load");
    }
    return true;
  }

  // The old code's unload() (or undefined) as serdes bytes.
  // version: empty when the old code exports none. The state's
  // ArrayBuffers are not copied: their memory goes to the new code as is
  // (buffers), and the old code, if the reload fails, still has it.
  bool Capture(std::vector<uint8_t> *bytes, std::vector<uint8_t> *version,
               std::vector<std::shared_ptr<v8::BackingStore>> *buffers) {
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    Local<v8::Context> context = old_env->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    Local<Value> state = v8::Undefined(isolate);
    Local<Value> unload = Export(old_env, "unload");
    step = "unload()";
    if (unload->IsFunction()) {
      if (!unload.As<v8::Function>()
               ->Call(context, v8::Undefined(isolate), 0, nullptr)
               .ToLocal(&state))
        return Fail("unload() threw: " +
                    dv8::DescribeException(old_env, try_catch.Exception()));
    } else {
      // No unload(): what crosses is every handle that can,
      // { handles: [id, ...] }.
      Local<v8::Array> ids =
          v8::Array::New(isolate, static_cast<int>(crossing.size()));
      for (size_t i = 0; i < crossing.size(); i++)
        ids->Set(context, static_cast<uint32_t>(i),
                 v8::Number::New(
                     isolate, static_cast<double>(DV8_HEAD(crossing[i])->id)))
            .Check();
      Local<v8::Object> o = v8::Object::New(isolate);
      o->Set(context, dv8::Str(isolate, "handles"), ids).Check();
      state = o;
    }
    // Ports: what the old code's thread.js holds back goes now (its
    // context will not be there to send it later).
    if (!dv8::FlushPorts(rt, old_env))
      return Fail("a thread port could not send what it held: " +
                  dv8::DescribeException(old_env, try_catch.Exception()));
    // The state, and the old code's version (any serdes value), cross as
    // bytes.
    Local<v8::Object> serdes;
    Local<Value> encode;
    if (!dv8::NativeExports(old_env, "serdes").ToLocal(&serdes) ||
        !serdes->Get(context, dv8::Str(isolate, "encode")).ToLocal(&encode))
      return Fail("serdes is missing");
    Local<v8::Array> moved = v8::Array::New(isolate);
    auto pack = [&](Local<Value> value, const char *name,
                    std::vector<uint8_t> *out) {
      Local<v8::Object> options = v8::Object::New(isolate);
      options->Set(context, dv8::Str(isolate, "name"), dv8::Str(isolate, name))
          .Check();
      if (share_buffers)
        options->Set(context, dv8::Str(isolate, "moveBuffers"), moved).Check();
      Local<Value> argv[] = {value, options};
      Local<Value> encoded;
      if (!encode.As<v8::Function>()
               ->Call(context, v8::Undefined(isolate), 2, argv)
               .ToLocal(&encoded) ||
          !encoded->IsUint8Array())
        return false;
      Local<v8::Uint8Array> u8 = encoded.As<v8::Uint8Array>();
      out->resize(u8->ByteLength());
      u8->CopyContents(out->data(), out->size());
      return true;
    };
    if (!pack(state, "state", bytes))
      return Fail("the state cannot cross: " +
                  Message(old_env, try_catch.Exception()));
    Local<Value> v = Export(old_env, "version");
    version->clear();
    if (!v->IsUndefined() && !pack(v, "version", version))
      return Fail("the version cannot cross: " +
                  Message(old_env, try_catch.Exception()));
    for (uint32_t i = 0; i < moved->Length(); i++) {
      Local<Value> ab;
      if (!moved->Get(context, i).ToLocal(&ab) || !ab->IsArrayBuffer())
        return Fail("the state's buffers cannot cross");
      buffers->push_back(ab.As<v8::ArrayBuffer>()->GetBackingStore());
      moved_from.emplace_back(isolate, ab.As<v8::ArrayBuffer>());
    }
    return true;
  }

  // The new code's load(state, fromVersion), in its context.
  bool Load(const std::vector<uint8_t> &bytes,
            const std::vector<uint8_t> &version,
            const std::vector<std::shared_ptr<v8::BackingStore>> &buffers) {
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    Local<v8::Context> context = new_env->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    Local<v8::Object> serdes;
    Local<Value> decode;
    if (!dv8::NativeExports(new_env, "serdes").ToLocal(&serdes) ||
        !serdes->Get(context, dv8::Str(isolate, "decode")).ToLocal(&decode))
      return Fail("serdes is missing");
    // The old code's buffers, shared: new ArrayBuffers over their memory.
    Local<v8::Array> moved =
        v8::Array::New(isolate, static_cast<int>(buffers.size()));
    for (size_t i = 0; i < buffers.size(); i++)
      moved
          ->Set(context, static_cast<uint32_t>(i),
                v8::ArrayBuffer::New(isolate, buffers[i]))
          .Check();
    Local<v8::Object> options = v8::Object::New(isolate);
    options->Set(context, dv8::Str(isolate, "transfer"), moved).Check();
    auto unpack = [&](const std::vector<uint8_t> &in, Local<Value> *out) {
      Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, in.size());
      if (!in.empty())
        memcpy(ab->Data(), in.data(), in.size());
      Local<Value> argv[] = {v8::Uint8Array::New(ab, 0, in.size()),
                             v8::Integer::New(isolate, 0),
                             v8::Undefined(isolate), options};
      return decode.As<v8::Function>()
          ->Call(context, v8::Undefined(isolate), 4, argv)
          .ToLocal(out);
    };
    Local<Value> state, from = v8::Undefined(isolate);
    if (!unpack(bytes, &state) || (!version.empty() && !unpack(version, &from)))
      return Fail("the state does not decode: " +
                  dv8::DescribeException(new_env, try_catch.Exception()));
    Local<Value> load = Export(new_env, "load");
    if (!load->IsFunction())
      return true;
    step = "load()";
    Local<Value> args[] = {state, from};
    Local<Value> result;
    if (!load.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 2, args)
             .ToLocal(&result))
      return Fail("load() threw: " +
                  dv8::DescribeException(new_env, try_catch.Exception()));
    if (result->IsPromise()) {
      isolate->PerformMicrotaskCheckpoint();
      Local<v8::Promise> p = result.As<v8::Promise>();
      if (p->State() == v8::Promise::kRejected)
        return Fail("load() rejected: " +
                    dv8::DescribeException(new_env, p->Result()));
      if (p->State() == v8::Promise::kPending)
        return Fail("load() returned a promise that did not settle at once "
                    "(load must finish before the new code takes over)");
    }
    return true;
  }
};

void OnRetire(uv_idle_t *idle) {
  uv_idle_stop(idle);
  dv8::DisposeRetired(static_cast<dv8_isolate_t *>(idle->data));
}

void OnReloadIdle(uv_idle_t *idle) {
  uv_idle_stop(idle);
  auto *rt = static_cast<dv8_runtime_t *>(idle->data);
  bool threads = rt->isolate->reload_threads;
  rt->isolate->reload_threads = false;
  dv8__reload(rt);
  if (threads)
    dv8__threads_reload(rt);
}

// SIGHUP reloads the program and every thread it started.
void OnSighup(uv_signal_t *signal, int signum) {
  auto *rt = static_cast<dv8_runtime_t *>(signal->data);
  if (!dv8__signal_handled(rt, signum)) // the program's own handler instead
    dv8__reload_request(rt, 1);
}

// binding.reload(threadsToo): asks for a reload once the current callback
// returns.
void BindingReload(const v8::FunctionCallbackInfo<Value> &info) {
  dv8__reload_request(dv8::RuntimeOf(info.GetIsolate()), info[0]->IsTrue());
}

// binding.reloadStats(): { count, failures, lastPrepareMs, lastPauseMs }.
void BindingReloadStats(const v8::FunctionCallbackInfo<Value> &info) {
  Local<v8::Object> out = v8::Object::New(info.GetIsolate());
  dv8::AddReloadStats(info.GetIsolate(), out);
  info.GetReturnValue().Set(out);
}

} // namespace

namespace dv8 {

void AddReloadBinding(v8::Isolate *isolate, Local<v8::Object> binding) {
  SetFn(isolate, binding, "reload", BindingReload);
  SetFn(isolate, binding, "reloadStats", BindingReloadStats);
}

void DisposeRetired(dv8_isolate_t *iso) {
  std::vector<dv8_env_t *> list;
  list.swap(iso->retired);
  for (dv8_env_t *env : list)
    dv8__context_dispose(env);
}

void AddReloadStats(v8::Isolate *isolate, Local<v8::Object> out) {
  Local<v8::Context> context = isolate->GetCurrentContext();
  dv8_isolate_t *iso = IsolateOf(isolate);
  auto set = [&](const char *k, double v) {
    out->Set(context, Str(isolate, k), v8::Number::New(isolate, v)).Check();
  };
  set("count", static_cast<double>(iso->reloads));
  set("failures", static_cast<double>(iso->reload_failures));
  set("lastPrepareMs", Ms(iso->last_prepare_ns));
  set("lastPauseMs", Ms(iso->last_pause_ns));
}

} // namespace dv8

// Closes every handle a context made: the discarded new code's on abort,
// the old code's timers (and whatever unload() opened) on commit, so that
// nothing fires into a disposed context.
static void CloseHandlesOf(dv8_runtime_t *rt, dv8_env_t *env) {
  dv8_handle_table_t *t = &rt->handles;
  for (dv8_handle_t *h = dv8__handles_next(t, nullptr); h != nullptr;
       h = dv8__handles_next(t, h))
    if (DV8_HEAD(h)->env == env)
      dv8__handle_close(h); // a port's close op ends its thread first
}

// In a thread, the parent hears how each reload went (Thread.onReload).
static int Report(dv8_runtime_t *rt, int status) {
  if (rt->thread != nullptr)
    dv8__thread_reloaded(
        rt, status == 0 ? nullptr : rt->isolate->last_reload_error.c_str());
  return status;
}

static int Refuse(dv8_runtime_t *rt, const char *why) {
  fprintf(stderr, "dv8: reload: %s\n", why);
  if (rt->isolate != nullptr) {
    rt->isolate->last_reload_error = why;
    rt->isolate->reload_failures++;
  }
  return Report(rt, DV8_EEXCEPTION);
}

extern "C" int dv8__reload(dv8_runtime_t *rt) {
  dv8_env_t *old_env = rt->env;
  dv8_isolate_t *iso = rt->isolate;
  if (old_env == nullptr || rt->stopping)
    return Refuse(rt, "the program is ending");
  if (old_env->repl || old_env->main_path.empty() ||
      old_env->main_path.back() == ']')
    return Refuse(rt, rt->thread != nullptr
                          ? "only a thread started from a module file reloads"
                          : "only a program run from a file reloads");
  Transaction tx;
  tx.rt = rt;
  tx.old_env = old_env;
  uint64_t t0 = uv_hrtime();
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> version;
  Deadline deadline;
  ArmDeadline(&deadline, iso->isolate);
  bool ok = tx.Check() && tx.Prepare();
  uint64_t t1 = uv_hrtime();
  // Pause: the old code's timers stop; nothing of the old code runs after
  // unload() has captured the state.
  for (dv8_handle_t *h : tx.timers)
    DV8_HEAD(h)->type->pause(h);
  for (dv8_handle_t *h : tx.crossing)
    DV8_HEAD(h)->type->pause(h); // reads stop at libuv; servers stop accepting
  std::vector<std::shared_ptr<v8::BackingStore>> buffers;
  ok = ok && tx.Capture(&bytes, &version, &buffers) &&
       tx.Load(bytes, version, buffers);
  if (DisarmDeadline(&deadline) && !ok)
    tx.error = std::string(tx.step) + " ran past the reload deadline of " +
               std::to_string(dv8__reload_deadline_ms) +
               " ms (--reload-deadline MS)";
  if (!ok) {
    for (dv8_handle_t *h : tx.timers)
      DV8_HEAD(h)->type->resume(h);
    // What the discarded code bound goes; a stream the old code had paused
    // itself stays paused (the type's resume knows).
    for (dv8_handle_t *h : tx.crossing) {
      dv8__slots_abort(h);
      DV8_HEAD(h)->type->resume(h);
    }
    if (tx.new_env != nullptr) {
      if (rt->env == tx.new_env)
        rt->env = old_env;
      CloseHandlesOf(rt, tx.new_env);
      dv8__context_dispose(tx.new_env);
    }
    iso->rejections.clear(); // the discarded code's, if any
    iso->reload_failures++;
    fprintf(stderr, "dv8: reload failed, the old code goes on: %s\n",
            tx.error.c_str());
    iso->last_reload_error = tx.error;
    return Report(rt, DV8_EEXCEPTION);
  }
  // Commit: the old code's timers are cleared, the new context takes over.
  // The old one is disposed after events have flowed again (its disposal
  // is cleanup, not part of the switch).
  // Streams and ports move to the new context: resume switches them to
  // what the new code bound (or leaves them paused, bytes waiting in the
  // kernel or the channel). A stream the old code had paused itself
  // (back-pressure: writes queued) stays paused under the new code, until
  // the new code resumes it (its onDrain).
  for (dv8_handle_t *h : tx.crossing) {
    DV8_HEAD(h)->env = tx.new_env;
    dv8__slots_commit(h, tx.new_env);
    DV8_HEAD(h)->type->resume(h);
  }
  {
    // The old code's views of moved buffers go: their memory is the new
    // code's now (V8 would otherwise count it twice until the old context
    // is collected, and collect more often for it).
    v8::HandleScope scope(iso->isolate);
    for (auto &g : tx.moved_from) {
      Local<v8::ArrayBuffer> ab = g.Get(iso->isolate);
      if (ab->IsDetachable())
        ab->Detach();
    }
  }
  CloseHandlesOf(rt, old_env);
  tx.new_env->main_path = old_env->main_path;
  rt->env = tx.new_env;
  iso->retired.push_back(old_env);
  if (!iso->retire_idle_ready) {
    uv_idle_init(&rt->loop, &iso->retire_idle);
    iso->retire_idle.data = iso;
    iso->retire_idle_ready = true;
  }
  uv_idle_start(&iso->retire_idle, OnRetire);
  iso->reloads++;
  iso->last_reload_error.clear();
  iso->last_prepare_ns = t1 - t0;
  iso->last_pause_ns = uv_hrtime() - t1;
  {
    v8::HandleScope scope(iso->isolate);
    v8::Context::Scope context_scope(tx.new_env->context.Get(iso->isolate));
    dv8::RunMicrotasks(tx.new_env);
  }
  return Report(rt, 0);
}

namespace {

// Editors save by writing a new file and renaming it over the old one,
// which ends a watch on the file itself: directories are watched, and an
// event counts when it names one of the program's files. Bursts (an
// editor's several writes) are folded into one reload after 50 ms of quiet.
constexpr uint64_t kDebounceMs = 50;

void Arm(dv8_runtime_t *rt);

void OnDebounce(uv_timer_t *timer) {
  auto *rt = static_cast<dv8_runtime_t *>(timer->data);
  dv8_isolate_t *iso = rt->isolate;
  uint64_t before = iso->reloads;
  int err = dv8__reload(rt);
  if (err == 0 && iso->reloads > before)
    fprintf(stderr,
            "dv8: reloaded %s%s (%llu so far, %llu failed): prepare %.2f ms, "
            "pause %.2f ms\n",
            rt->env->main_path.c_str(),
            rt->thread != nullptr ? " in its thread" : "",
            static_cast<unsigned long long>(iso->reloads),
            static_cast<unsigned long long>(iso->reload_failures),
            Ms(iso->last_prepare_ns), Ms(iso->last_pause_ns));
  Arm(rt); // the files may have changed: a new import, or one fewer
}

void OnFsEvent(uv_fs_event_t *event, const char *name, int events, int status) {
  (void)events;
  auto *w = static_cast<Watcher *>(event->data);
  if (status < 0 || name == nullptr)
    return;
  bool ours = false;
  for (auto &n : w->names)
    ours = ours || n == name;
  if (!ours)
    return;
  dv8_isolate_t *iso = w->rt->isolate;
  uv_timer_start(&iso->debounce, OnDebounce, kDebounceMs, 0);
}

void OnWatcherClosed(uv_handle_t *h) { delete static_cast<Watcher *>(h->data); }

// Watches the directories of every file of the current code.
void Arm(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
  for (Watcher *w : iso->watchers)
    uv_close(reinterpret_cast<uv_handle_t *>(&w->event), OnWatcherClosed);
  iso->watchers.clear();
  std::unordered_map<std::string, Watcher *> by_dir;
  for (auto &m : rt->env->modules) {
    const std::string &path = m->path;
    size_t slash = path.rfind('/');
    if (path.empty() || path[0] != '/' || slash == std::string::npos ||
        path.back() == ']')
      continue;
    std::string dir = slash == 0 ? "/" : path.substr(0, slash);
    Watcher *&w = by_dir[dir];
    if (w == nullptr) {
      w = new Watcher();
      w->rt = rt;
      w->event.data = w;
      if (uv_fs_event_init(&rt->loop, &w->event) != 0 ||
          uv_fs_event_start(&w->event, OnFsEvent, dir.c_str(), 0) != 0) {
        fprintf(stderr, "dv8: --watch: cannot watch %s\n", dir.c_str());
        uv_close(reinterpret_cast<uv_handle_t *>(&w->event), OnWatcherClosed);
        w = nullptr;
        continue;
      }
      // A thread's watch does not keep it running: it ends as it would.
      if (rt->thread != nullptr)
        uv_unref(reinterpret_cast<uv_handle_t *>(&w->event));
      iso->watchers.push_back(w);
    }
    w->names.push_back(path.substr(slash + 1));
  }
}

} // namespace

extern "C" void dv8__reload_watch(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso->watching)
    return;
  uv_timer_init(&rt->loop, &iso->debounce);
  iso->debounce.data = rt;
  if (rt->thread != nullptr)
    uv_unref(reinterpret_cast<uv_handle_t *>(&iso->debounce));
  iso->watching = true;
  Arm(rt);
}

extern "C" void dv8__reload_request(dv8_runtime_t *rt, int threads_too) {
  dv8_isolate_t *iso = rt->isolate;
  iso->reload_threads = iso->reload_threads || threads_too;
  if (!iso->reload_idle_ready) {
    uv_idle_init(&rt->loop, &iso->reload_idle);
    iso->reload_idle.data = rt;
    iso->reload_idle_ready = true;
  }
  uv_idle_start(&iso->reload_idle, OnReloadIdle);
}

extern "C" void dv8__reload_on_sighup(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
  if (iso->sighup_ready)
    return;
  uv_signal_init(&rt->loop, &iso->sighup);
  iso->sighup.data = rt;
  uv_signal_start(&iso->sighup, OnSighup, SIGHUP);
  uv_unref(
      reinterpret_cast<uv_handle_t *>(&iso->sighup)); // not a reason to stay up
  iso->sighup_ready = true;
}

extern "C" void dv8__reload_report(dv8_runtime_t *rt, int status, char *buf,
                                   size_t cap) {
  dv8_isolate_t *iso = rt->isolate;
  if (status == 0)
    snprintf(buf, cap,
             "reloaded: %llu so far, %llu failed, prepare %.2f ms, "
             "pause %.2f ms\n",
             static_cast<unsigned long long>(iso->reloads),
             static_cast<unsigned long long>(iso->reload_failures),
             Ms(iso->last_prepare_ns), Ms(iso->last_pause_ns));
  else
    snprintf(buf, cap, "reload failed, the old code goes on: %s\n",
             iso->last_reload_error.c_str());
}

namespace {

// A copy of s for C callers, who free it.
char *Dup(const std::string &s) { return strdup(s.c_str()); }

bool ToBytes(const std::vector<uint8_t> &in, dv8_bytes_t *out) {
  out->len = in.size();
  out->data = static_cast<uint8_t *>(malloc(in.size() + 1));
  if (out->data != nullptr && !in.empty())
    memcpy(out->data, in.data(), in.size());
  return out->data != nullptr;
}

} // namespace

extern "C" int dv8__handoff_capture(dv8_runtime_t *rt, dv8_handle_t **handles,
                                    size_t n, dv8_bytes_t *state,
                                    dv8_bytes_t *version, char **error) {
  Transaction tx;
  tx.rt = rt;
  tx.old_env = rt->env;
  tx.crossing.assign(handles, handles + n);
  tx.share_buffers = false; // to another process: copied
  std::vector<std::shared_ptr<v8::BackingStore>> none;
  std::vector<uint8_t> s, v;
  if (!tx.Capture(&s, &v, &none)) {
    *error = Dup(tx.error);
    return DV8_EEXCEPTION;
  }
  if (!ToBytes(s, state) || !ToBytes(v, version)) {
    *error = Dup("out of memory");
    return UV_ENOMEM;
  }
  return 0;
}

extern "C" int dv8__handoff_load(dv8_runtime_t *rt, const uint8_t *state,
                                 size_t state_len, const uint8_t *version,
                                 size_t version_len, char **error) {
  Transaction tx;
  tx.rt = rt;
  tx.new_env = rt->env;
  Deadline deadline;
  ArmDeadline(&deadline, rt->isolate->isolate);
  bool ok = tx.Load(std::vector<uint8_t>(state, state + state_len),
                    std::vector<uint8_t>(version, version + version_len), {});
  if (DisarmDeadline(&deadline) && !ok)
    tx.error = "load() ran past the reload deadline of " +
               std::to_string(dv8__reload_deadline_ms) + " ms";
  if (!ok)
    *error = Dup(tx.error);
  return ok ? 0 : DV8_EEXCEPTION;
}
