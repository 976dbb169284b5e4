// The reload transaction (DESIGN.md): replace a thread's code with a fresh
// context loaded from disk, carrying the app's state across as serdes
// bytes; a reload that fails at any step changes nothing.
//
// This first stage carries code and state, and clears the old code's
// timers at commit (docs/reload.md); handles that must survive a reload
// (streams, servers, thread ports) make it refuse until their callbacks can
// be handed to the new context.
#include <signal.h>

#include <string>

#include "contexts/internal.h"

using v8::Local;
using v8::Value;

namespace {

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

std::string Describe(dv8_env_t *env, Local<Value> exception) {
  v8::Isolate *isolate = env->isolate;
  Local<v8::Context> context = env->context.Get(isolate);
  if (exception->IsObject()) {
    Local<Value> stack;
    if (exception.As<v8::Object>()
            ->Get(context, dv8::Str(isolate, "stack"))
            .ToLocal(&stack) &&
        stack->IsString()) {
      v8::String::Utf8Value s(isolate, stack);
      return *s != nullptr ? *s : "";
    }
  }
  v8::String::Utf8Value s(isolate, exception);
  return *s != nullptr ? *s : "";
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
    v8::String::Utf8Value s(isolate, message);
    return *s != nullptr ? *s : "";
  }
  return Describe(env, exception);
}

struct Transaction {
  dv8_runtime_t *rt = nullptr;
  dv8_env_t *old_env = nullptr;
  dv8_env_t *new_env = nullptr;
  std::vector<dv8_handle_t *> timers; // the old code's, paused meanwhile
  // Net streams cross: paused meanwhile, then moved to the new context.
  std::vector<dv8_handle_t *> streams;
  std::vector<bool> paused_here; // by the reload (not already paused)
  std::string error;

  bool Fail(const std::string &why) {
    error = why;
    return false;
  }

  // Old code's handles: timers are paused (and closed at commit); any
  // other kind cannot cross yet.
  bool Check() {
    dv8_handle_table_t *t = &rt->handles;
    for (uint32_t i = 0; i < t->used; i++) {
      dv8_handle_t *h = t->slots[i];
      if (h == nullptr || (h->flags & DV8_HANDLE_CLOSING) != 0)
        continue;
      if (strcmp(h->type->name, "timer") == 0) {
        timers.push_back(h);
        continue;
      }
      if (strcmp(h->type->name, "stream") == 0) {
        streams.push_back(h);
        continue;
      }
      return Fail(std::string("a ") + h->type->name + " (handle " +
                  std::to_string(h->id) +
                  ") is open: reload carries timers and net streams, so far");
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
      return Fail(try_catch.HasCaught()
                      ? Describe(new_env, try_catch.Exception())
                      : "the new code failed to load");
    }
    return true;
  }

  // The old code's unload() (or undefined) as serdes bytes.
  bool Capture(std::vector<uint8_t> *bytes, std::string *version,
               bool *has_version) {
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    Local<v8::Context> context = old_env->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    Local<Value> state = v8::Undefined(isolate);
    Local<Value> unload = Export(old_env, "unload");
    if (unload->IsFunction() &&
        !unload.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 0, nullptr)
             .ToLocal(&state))
      return Fail("unload() threw: " +
                  Describe(old_env, try_catch.Exception()));
    Local<v8::Object> serdes;
    Local<Value> encode, encoded;
    Local<Value> options = v8::Object::New(isolate);
    options.As<v8::Object>()
        ->Set(context, dv8::Str(isolate, "name"), dv8::Str(isolate, "state"))
        .Check();
    Local<Value> argv[] = {state, options};
    if (!dv8::NativeExports(old_env, "serdes").ToLocal(&serdes) ||
        !serdes->Get(context, dv8::Str(isolate, "encode")).ToLocal(&encode) ||
        !encode.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 2, argv)
             .ToLocal(&encoded) ||
        !encoded->IsUint8Array())
      return Fail("the state cannot cross: " +
                  Message(old_env, try_catch.Exception()));
    Local<v8::Uint8Array> u8 = encoded.As<v8::Uint8Array>();
    bytes->resize(u8->ByteLength());
    u8->CopyContents(bytes->data(), bytes->size());
    Local<Value> v = Export(old_env, "version");
    *has_version = !v->IsUndefined();
    if (*has_version) {
      v8::String::Utf8Value s(isolate, v);
      *version = *s != nullptr ? *s : "";
    }
    return true;
  }

  // The new code's load(state, fromVersion), in its context.
  bool Load(const std::vector<uint8_t> &bytes, const std::string &version,
            bool has_version) {
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    Local<v8::Context> context = new_env->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(isolate, bytes.size());
    if (!bytes.empty())
      memcpy(ab->Data(), bytes.data(), bytes.size());
    Local<v8::Object> serdes;
    Local<Value> decode, state;
    Local<Value> argv[] = {v8::Uint8Array::New(ab, 0, bytes.size())};
    if (!dv8::NativeExports(new_env, "serdes").ToLocal(&serdes) ||
        !serdes->Get(context, dv8::Str(isolate, "decode")).ToLocal(&decode) ||
        !decode.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 1, argv)
             .ToLocal(&state))
      return Fail("the state does not decode: " +
                  Describe(new_env, try_catch.Exception()));
    Local<Value> load = Export(new_env, "load");
    if (!load->IsFunction())
      return true;
    Local<Value> from = has_version ? dv8::Str(isolate, version).As<Value>()
                                    : v8::Undefined(isolate).As<Value>();
    Local<Value> args[] = {state, from};
    Local<Value> result;
    if (!load.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 2, args)
             .ToLocal(&result))
      return Fail("load() threw: " + Describe(new_env, try_catch.Exception()));
    if (result->IsPromise()) {
      isolate->PerformMicrotaskCheckpoint();
      Local<v8::Promise> p = result.As<v8::Promise>();
      if (p->State() == v8::Promise::kRejected)
        return Fail("load() rejected: " + Describe(new_env, p->Result()));
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
  dv8__reload(static_cast<dv8_runtime_t *>(idle->data));
}

void OnSighup(uv_signal_t *signal, int signum) {
  (void)signum;
  dv8__reload_request(static_cast<dv8_runtime_t *>(signal->data));
}

// binding.reload(): asks for a reload once the current callback returns.
void BindingReload(const v8::FunctionCallbackInfo<Value> &info) {
  dv8__reload_request(dv8::RuntimeOf(info.GetIsolate()));
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
  for (uint32_t i = 0; i < t->used; i++) {
    dv8_handle_t *h = t->slots[i];
    if (h != nullptr && h->env == env)
      dv8__handle_close(h);
  }
}

extern "C" int dv8__reload(dv8_runtime_t *rt) {
  dv8_env_t *old_env = rt->env;
  dv8_isolate_t *iso = rt->isolate;
  if (old_env == nullptr || rt->stopping || old_env->repl ||
      old_env->main_path.empty() || old_env->main_path.back() == ']') {
    fprintf(stderr, "dv8: reload: only a program run from a file reloads\n");
    if (iso != nullptr)
      iso->last_reload_error = "only a program run from a file reloads";
    return DV8_EEXCEPTION;
  }
  Transaction tx;
  tx.rt = rt;
  tx.old_env = old_env;
  uint64_t t0 = uv_hrtime();
  std::vector<uint8_t> bytes;
  std::string version;
  bool ok = tx.Check() && tx.Prepare();
  uint64_t t1 = uv_hrtime();
  bool has_version = false;
  // Pause: the old code's timers stop; nothing of the old code runs after
  // unload() has captured the state.
  for (dv8_handle_t *h : tx.timers)
    if (h->type->pause != nullptr)
      h->type->pause(h);
  for (dv8_handle_t *h : tx.streams) {
    uint64_t pauses = h->counters[DV8_COUNTER_PAUSES];
    h->type->pause(h); // reads stop at libuv; servers stop accepting
    tx.paused_here.push_back(h->counters[DV8_COUNTER_PAUSES] > pauses);
  }
  ok = ok && tx.Capture(&bytes, &version, &has_version) &&
       tx.Load(bytes, version, has_version);
  if (!ok) {
    for (dv8_handle_t *h : tx.timers)
      if (h->type->resume != nullptr)
        h->type->resume(h);
    // Streams: what the discarded code bound is dropped (by resume, as the
    // stream's context did not change); one the old code had paused
    // itself is paused again.
    for (size_t i = 0; i < tx.streams.size(); i++) {
      tx.streams[i]->type->resume(tx.streams[i]);
      if (!tx.paused_here[i])
        tx.streams[i]->type->pause(tx.streams[i]);
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
    return DV8_EEXCEPTION;
  }
  // Commit: the old code's timers are cleared, the new context takes over.
  // The old one is disposed after events have flowed again (its disposal
  // is cleanup, not part of the switch).
  // Streams move to the new context: resume switches them to what the new
  // code bound (or leaves them paused, bytes waiting in the kernel).
  // One the old code had paused itself (back-pressure: writes queued) stays
  // paused under the new code, until the new code resumes it (its onDrain).
  for (size_t i = 0; i < tx.streams.size(); i++) {
    dv8_handle_t *h = tx.streams[i];
    h->env = tx.new_env;
    h->type->resume(h);
    if (!tx.paused_here[i])
      h->type->pause(h);
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
  return 0;
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
            "dv8: reloaded %s (%llu so far, %llu failed): prepare %.2f ms, "
            "pause %.2f ms\n",
            rt->env->main_path.c_str(),
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
  iso->watching = true;
  Arm(rt);
}

extern "C" void dv8__reload_request(dv8_runtime_t *rt) {
  dv8_isolate_t *iso = rt->isolate;
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
