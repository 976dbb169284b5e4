// The V8 steps of the reload transaction (host/reload.c orchestrates them):
// prepare a fresh context with the entry module read from disk again,
// capture the old code's state (unload()) as serdes bytes, load it into the
// new code (load(state, fromVersion)), then commit (the new context becomes
// the thread's, the old one retires) or discard the new context. The same
// capture and load carry a program's state to a new process (upgrade).
#include <string.h>

#include <algorithm>
#include <string>

#include "contexts/internal.h"

using v8::Local;
using v8::Value;

// The old code's state between capture and load.
struct dv8_reload_state_s {
  std::vector<uint8_t> bytes;   // unload()'s value (or { handles }), serdes
  std::vector<uint8_t> version; // the old code's version export, or empty
  // The memory of the state's ArrayBuffers, which the new code gets as is
  // (same thread), and the old code's views of it, detached at commit so
  // that V8 counts that memory once.
  std::vector<std::shared_ptr<v8::BackingStore>> buffers;
  std::vector<v8::Global<v8::ArrayBuffer>> moved_from;
  // An upgrade's: ids of handles that stayed with the old process.
  std::vector<double> stayed;
};

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

// A copy of s for C callers, who free it.
char *Dup(const std::string &s) { return strdup(s.c_str()); }

// The steps' shared parts: the contexts involved and the error so far.
struct Transaction {
  dv8_runtime_t *rt = nullptr;
  dv8_env_t *old_env = nullptr;
  dv8_env_t *new_env = nullptr;
  std::vector<dv8_handle_t *> crossing; // without unload(): the state
  bool share_buffers = true;            // false: to another process, copied
  std::string error;

  bool Fail(const std::string &why) {
    error = why;
    return false;
  }

  // A call into env's code (what) that did not return: it threw, or it
  // called dv8.exit() (which stops the JS and the runtime: that is no
  // failure of the code, and the message must not say it is).
  bool Threw(const char *what, dv8_env_t *env, v8::TryCatch &try_catch) {
    if (rt->stopping)
      return Exited(what);
    return Fail(std::string(what) + " threw: " +
                dv8::DescribeException(env, try_catch.Exception()));
  }

  // dv8.exit() stops JS at its next check, which may be after the call
  // that made it returned: each step asks once it is done.
  bool Exited(const char *what) {
    return Fail(std::string(what) + " called dv8.exit(" +
                std::to_string(rt->exit_code) + ")");
  }

  // The old code's unload() (or undefined) as serdes bytes.
  // version: empty when the old code exports none. The state's
  // ArrayBuffers are not copied: their memory goes to the new code as is
  // (buffers), and the old code, if the reload fails, still has it.
  bool Capture(std::vector<uint8_t> *bytes, std::vector<uint8_t> *version,
               std::vector<std::shared_ptr<v8::BackingStore>> *buffers,
               std::vector<v8::Global<v8::ArrayBuffer>> *moved_from) {
    v8::Isolate *isolate = rt->isolate->isolate;
    v8::HandleScope scope(isolate);
    Local<v8::Context> context = old_env->context.Get(isolate);
    v8::Context::Scope context_scope(context);
    v8::TryCatch try_catch(isolate);
    Local<Value> state = v8::Undefined(isolate);
    Local<Value> unload = Export(old_env, "unload");
    if (unload->IsFunction()) {
      if (!unload.As<v8::Function>()
               ->Call(context, v8::Undefined(isolate), 0, nullptr)
               .ToLocal(&state))
        return Threw("unload()", old_env, try_catch);
      if (rt->stopping)
        return Exited("unload()");
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
    // What the old code's last turns changed is kept before the new code
    // starts from it (the persistent root commits; at an upgrade it lets
    // the store go).
    std::string why;
    if (!dv8::TurnHandover(
            old_env, share_buffers ? DV8_TURN_RELOAD : DV8_TURN_LEAVE, &why))
      return Fail("the turn hook threw: " + why);
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
      moved_from->emplace_back(isolate, ab.As<v8::ArrayBuffer>());
    }
    return true;
  }

  // The new code's load(state, fromVersion), in its context.
  bool Load(const std::vector<uint8_t> &bytes,
            const std::vector<uint8_t> &version,
            const std::vector<std::shared_ptr<v8::BackingStore>> &buffers,
            const std::vector<double> &stayed = {}) {
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
    // The ids are this thread's (a reload) or kept (an upgrade): a handle
    // reference becomes what the new code's modules make of it (a net
    // Socket...), or a Handle.
    Local<Value> revive;
    if (!serdes->Get(context, dv8::Str(isolate, "reviveHandle"))
             .ToLocal(&revive))
      return Fail("serdes is missing");
    if (!stayed.empty()) {
      Local<Value> make;
      Local<v8::Array> ids =
          v8::Array::New(isolate, static_cast<int>(stayed.size()));
      for (size_t i = 0; i < stayed.size(); i++)
        ids->Set(context, static_cast<uint32_t>(i),
                 v8::Number::New(isolate, stayed[i]))
            .Check();
      Local<Value> argv[] = {ids};
      if (!serdes->Get(context, dv8::Str(isolate, "stayedReviver"))
               .ToLocal(&make) ||
          !make->IsFunction() ||
          !make.As<v8::Function>()
               ->Call(context, v8::Undefined(isolate), 1, argv)
               .ToLocal(&revive))
        return Fail("serdes is missing");
    }
    options->Set(context, dv8::Str(isolate, "handles"), revive).Check();
    auto unpack = [&](const std::vector<uint8_t> &in, Local<Value> *out) {
      Local<v8::ArrayBuffer> ab;
      if (!dv8::NewArrayBuffer(isolate, in.size()).ToLocal(&ab))
        return false;
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
      return Fail("the new code exports no load()");
    Local<Value> args[] = {state, from};
    Local<Value> result;
    if (!load.As<v8::Function>()
             ->Call(context, v8::Undefined(isolate), 2, args)
             .ToLocal(&result))
      return Threw("load()", new_env, try_catch);
    if (rt->stopping)
      return Exited("load()");
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

// binding.reload(threadsToo): asks for a reload once the current callback
// returns.
void BindingReload(const v8::FunctionCallbackInfo<Value> &info) {
  dv8__reload_request(dv8::RuntimeOf(info.GetIsolate()), info[0]->IsTrue());
}

// binding.reloadStats(): { count, failures, lastPrepareMs, lastPauseMs }.
void BindingReloadStats(const v8::FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  dv8_runtime_t *rt = dv8::RuntimeOf(isolate);
  Local<v8::Object> out = v8::Object::New(isolate);
  auto set = [&](const char *k, double v) {
    out->Set(context, dv8::Str(isolate, k), v8::Number::New(isolate, v))
        .Check();
  };
  set("count", static_cast<double>(rt->reloads));
  set("failures", static_cast<double>(rt->reload_failures));
  set("lastPrepareMs", Ms(rt->last_prepare_ns));
  set("lastPauseMs", Ms(rt->last_pause_ns));
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

} // namespace dv8

extern "C" dv8_env_t *dv8__reload_prepare(dv8_runtime_t *rt, char **error) {
  // What the old code was sent before the reload began, it handles.
  dv8::DeliverPosted(rt->isolate);
  dv8_env_t *old_env = rt->env;
  dv8_env_t *env = dv8__context_new(rt);
  if (env == nullptr) {
    *error = Dup("cannot create a context");
    return nullptr;
  }
  v8::Isolate *isolate = rt->isolate->isolate;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  v8::TryCatch try_catch(isolate);
  std::string why;
  int failed = dv8::LoadMain(env, old_env->main_path);
  if (rt->stopping) // dv8.exit(), failed or not by the time it stopped
    why = "the new code's top level called dv8.exit(" +
          std::to_string(rt->exit_code) + ")";
  else if (failed)
    why = try_catch.HasCaught() && !try_catch.HasTerminated()
              ? dv8::DescribeException(env, try_catch.Exception())
              : "the new code failed to load";
  else if (!Export(env, "load")->IsFunction())
    why = "the new code exports no load() (it would not take the state and "
          "handles over)";
  if (why.empty())
    return env;
  *error = Dup(why);
  dv8__reload_discard(rt, env);
  return nullptr;
}

extern "C" dv8_reload_state_t *dv8__reload_capture(dv8_runtime_t *rt,
                                                   dv8_env_t *old_env,
                                                   dv8_handle_t **handles,
                                                   size_t n, int share_buffers,
                                                   char **error) {
  // The old code handles what it was sent before its state is taken.
  dv8::DeliverPosted(rt->isolate);
  Transaction tx;
  tx.rt = rt;
  tx.old_env = old_env;
  tx.crossing.assign(handles, handles + n);
  tx.share_buffers = share_buffers != 0;
  auto *state = new dv8_reload_state_s();
  if (!tx.Capture(&state->bytes, &state->version, &state->buffers,
                  &state->moved_from)) {
    delete state;
    *error = Dup(tx.error);
    return nullptr;
  }
  return state;
}

extern "C" int dv8__reload_load(dv8_runtime_t *rt, dv8_env_t *env,
                                const dv8_reload_state_t *state, char **error) {
  Transaction tx;
  tx.rt = rt;
  tx.new_env = env;
  if (tx.Load(state->bytes, state->version, state->buffers, state->stayed))
    return 0;
  *error = Dup(tx.error);
  return DV8_EEXCEPTION;
}

extern "C" void dv8__reload_commit(dv8_runtime_t *rt, dv8_env_t *old_env,
                                   dv8_env_t *new_env,
                                   dv8_reload_state_t *state) {
  // Reads posted before the commit were read into the old code's buffers.
  dv8::DeliverPosted(rt->isolate);
  dv8_isolate_t *iso = rt->isolate;
  v8::Isolate *isolate = iso->isolate;
  {
    // The old code's views of moved buffers go: their memory is the new
    // code's now (V8 would otherwise count it twice until the old context
    // is collected, and collect more often for it).
    v8::HandleScope scope(isolate);
    for (auto &g : state->moved_from) {
      Local<v8::ArrayBuffer> ab = g.Get(isolate);
      if (ab->IsDetachable())
        ab->Detach();
    }
  }
  dv8__reload_state_free(state);
  new_env->main_path = old_env->main_path;
  rt->env = new_env;
  // The old context is disposed after events have flowed again: its
  // disposal is cleanup, not part of the switch.
  iso->retired.push_back(old_env);
  if (!iso->retire_idle_ready) {
    uv_idle_init(&rt->loop, &iso->retire_idle);
    iso->retire_idle.data = iso;
    iso->retire_idle_ready = true;
  }
  uv_idle_start(&iso->retire_idle, OnRetire);
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(new_env->context.Get(isolate));
  dv8::RunMicrotasks(new_env);
}

extern "C" void dv8__reload_discard(dv8_runtime_t *rt, dv8_env_t *new_env) {
  if (rt->env == new_env)
    rt->env = nullptr;
  dv8__context_dispose(new_env);
  rt->isolate->rejections.clear(); // the discarded code's, if any
}

extern "C" void dv8__reload_state_free(dv8_reload_state_t *state) {
  delete state;
}

extern "C" void dv8__reload_state_bytes(const dv8_reload_state_t *state,
                                        dv8_bytes_t *bytes,
                                        dv8_bytes_t *version) {
  auto copy = [](const std::vector<uint8_t> &in, dv8_bytes_t *out) {
    out->len = in.size();
    out->data = static_cast<uint8_t *>(malloc(in.size() + 1));
    if (out->data != nullptr && !in.empty())
      memcpy(out->data, in.data(), in.size());
  };
  copy(state->bytes, bytes);
  copy(state->version, version);
}

extern "C" dv8_reload_state_t *dv8__reload_state_from(const uint8_t *bytes,
                                                      size_t len,
                                                      const uint8_t *version,
                                                      size_t version_len) {
  auto *state = new dv8_reload_state_s();
  state->bytes.assign(bytes, bytes + len);
  state->version.assign(version, version + version_len);
  return state;
}

extern "C" void dv8__reload_state_stayed(dv8_reload_state_t *state,
                                         const uint64_t *ids, size_t n) {
  for (size_t i = 0; i < n; i++)
    state->stayed.push_back(static_cast<double>(ids[i]));
}

extern "C" int dv8__context_has_export(dv8_env_t *env, const char *name) {
  v8::HandleScope scope(env->isolate);
  v8::Context::Scope context_scope(env->context.Get(env->isolate));
  v8::TryCatch try_catch(env->isolate); // a throwing getter: no
  return !Export(env, name)->IsUndefined();
}

extern "C" void dv8__context_files(dv8_env_t *env,
                                   void (*fn)(const char *path, void *arg),
                                   void *arg) {
  for (auto &m : env->modules)
    if (!m->path.empty() && m->path[0] == '/' && m->path.back() != ']')
      fn(m->path.c_str(), arg);
}

extern "C" void dv8__isolate_cancel_terminate(dv8_runtime_t *rt) {
  rt->isolate->isolate->CancelTerminateExecution();
}

namespace {

// The prepared code's top level settled: the reload (seq) goes on.
void OnPreparedFulfilled(const v8::FunctionCallbackInfo<Value> &info) {
  dv8_runtime_t *rt = dv8::RuntimeOf(info.GetIsolate());
  uint64_t seq = static_cast<uint64_t>(info.Data().As<v8::Number>()->Value());
  dv8__reload_settled(rt, seq, 1, nullptr);
}

void OnPreparedRejected(const v8::FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_runtime_t *rt = dv8::RuntimeOf(isolate);
  dv8_env_t *env = dv8::EnvOf(isolate->GetCurrentContext());
  uint64_t seq = static_cast<uint64_t>(info.Data().As<v8::Number>()->Value());
  std::string why =
      "the new code's top level threw: " + dv8::DescribeException(env, info[0]);
  dv8__reload_settled(rt, seq, 0, why.c_str());
}

} // namespace

extern "C" int dv8__context_settle(dv8_env_t *env, uint64_t seq) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  if (env->main_promise.IsEmpty() ||
      env->main_promise.Get(isolate)->State() != v8::Promise::kPending)
    return 1;
  // seq as a Number: exact up to 2^53 reloads.
  Local<Value> data = v8::Number::New(isolate, static_cast<double>(seq));
  Local<v8::Function> fulfilled, rejected;
  if (!v8::Function::New(context, OnPreparedFulfilled, data)
           .ToLocal(&fulfilled) ||
      !v8::Function::New(context, OnPreparedRejected, data)
           .ToLocal(&rejected) ||
      env->main_promise.Get(isolate)
          ->Then(context, fulfilled, rejected)
          .IsEmpty())
    return 1; // cannot wait for it: go on, as before top-level await
  return 0;
}

extern "C" int dv8__context_awaiting(dv8_env_t *env, char **error) {
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  v8::Context::Scope context_scope(env->context.Get(isolate));
  if (env->main_promise.IsEmpty())
    return 0;
  Local<v8::Promise> p = env->main_promise.Get(isolate);
  if (p->State() == v8::Promise::kPending)
    return 1;
  if (p->State() == v8::Promise::kRejected) {
    *error = Dup("the code's top level threw: " +
                 dv8::DescribeException(env, p->Result()));
    return -1;
  }
  return 0;
}
