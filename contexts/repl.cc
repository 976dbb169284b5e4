// The REPL's V8 side of Ctrl-C (host/repl.c watches the signal): the
// natives repl.js runs input through, and the call of its handler for a
// Ctrl-C at the prompt.
//
// Termination is the only way to stop JS that never returns; here it is
// turned back into an ordinary exception, thrown where repl.js called
// interruptible(), so that the session goes on. A termination that is not
// the REPL's (exit(), the end of the program) is left to run its course.
#include "contexts/internal.h"

using v8::FunctionCallbackInfo;
using v8::Local;
using v8::Value;

namespace {

const char kInterrupted[] = "Script execution was interrupted by SIGINT";

// binding.interruptible(fn, ...args): fn(...args), unless Ctrl-C comes
// first; then fn's JS is terminated and an Error says so (code
// ERR_SCRIPT_EXECUTION_INTERRUPTED, as in node). A Ctrl-C that came just
// as fn returned counts too: the user asked for it, and its termination
// must not fall on the next JS to run.
void Interruptible(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  Local<v8::Context> context = isolate->GetCurrentContext();
  if (!info[0]->IsFunction()) {
    isolate->ThrowException(v8::Exception::TypeError(
        dv8::Str(isolate, "interruptible: argument 1 must be a function")));
    return;
  }
  std::vector<Local<Value>> args;
  for (int i = 1; i < info.Length(); i++)
    args.push_back(info[i]);
  Local<Value> exception;
  {
    v8::TryCatch try_catch(isolate);
    dv8__repl_interrupt_arm();
    // A native fn (evalScript) may return a value with the exception
    // already in the TryCatch: what the TryCatch caught is what counts.
    Local<Value> result;
    bool ok = info[0]
                  .As<v8::Function>()
                  ->Call(context, v8::Undefined(isolate),
                         static_cast<int>(args.size()), args.data())
                  .ToLocal(&result) &&
              !try_catch.HasCaught();
    bool interrupted =
        dv8__repl_interrupt_disarm() != 0 && !dv8::RuntimeOf(isolate)->stopping;
    if (interrupted) {
      isolate->CancelTerminateExecution();
      exception = v8::Exception::Error(dv8::Str(isolate, kInterrupted));
      exception.As<v8::Object>()
          ->Set(context, dv8::Str(isolate, "code"),
                dv8::Str(isolate, "ERR_SCRIPT_EXECUTION_INTERRUPTED"))
          .Check();
    } else if (ok) {
      return info.GetReturnValue().Set(result);
    } else if (try_catch.HasTerminated()) {
      return; // not the REPL's: it goes on unwinding
    } else {
      exception = try_catch.Exception();
    }
  }
  // Thrown once the TryCatch, which would swallow it, is gone.
  isolate->ThrowException(exception);
}

// binding.replSignals(fn): Ctrl-C is the REPL's; at the prompt it calls fn.
// 0 or an error code. replSignals(null) gives SIGINT back its default.
void ReplSignals(const FunctionCallbackInfo<Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  dv8_env_t *env = dv8::EnvOf(isolate->GetCurrentContext());
  if (!info[0]->IsFunction()) {
    dv8__repl_signals_stop();
    env->repl_sigint.Reset();
    return;
  }
  env->repl_sigint.Reset(isolate, info[0].As<v8::Function>());
  info.GetReturnValue().Set(dv8__repl_signals_start(env->rt));
}

// binding.discardInput(): drops what was typed and not read yet; how many
// bytes that was (a half-typed line's included), or an error code.
void DiscardInput(const FunctionCallbackInfo<Value> &info) {
  info.GetReturnValue().Set(dv8__repl_discard_input());
}

} // namespace

namespace dv8 {

void AddReplBinding(v8::Isolate *isolate, Local<v8::Object> binding) {
  SetFn(isolate, binding, "interruptible", Interruptible);
  SetFn(isolate, binding, "replSignals", ReplSignals);
  SetFn(isolate, binding, "discardInput", DiscardInput);
}

} // namespace dv8

extern "C" void dv8__repl_sigint(dv8_env_t *env) {
  if (env == nullptr || env->repl_sigint.IsEmpty() || env->rt->stopping)
    return;
  dv8::DeliverPosted(env->rt->isolate);
  v8::Isolate *isolate = env->isolate;
  v8::HandleScope scope(isolate);
  Local<v8::Context> context = env->context.Get(isolate);
  v8::Context::Scope context_scope(context);
  {
    v8::TryCatch try_catch(isolate);
    if (env->repl_sigint.Get(isolate)
            ->Call(context, v8::Undefined(isolate), 0, nullptr)
            .IsEmpty())
      dv8::ReportUncaught(env, try_catch);
  }
  dv8::RunMicrotasks(env);
}
