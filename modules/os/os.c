/*
 * os: facts about the process and the machine, read from libuv (and, where
 * libuv has no call for it, from libc).
 *
 * Every function is synchronous and keeps nothing between calls, so the
 * module has no handles and nothing to hand over on reload. Failures of the
 * system calls come back to JS as libuv's negative codes, not exceptions:
 * only a wrong argument type throws.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <uv.h>

#include "dv8.h"

/* Node's names for CPU architectures, so that code written for node can
 * compare os.arch with the strings it already knows. */
#if defined(__x86_64__)
#define OS_ARCH "x64"
#elif defined(__aarch64__)
#define OS_ARCH "arm64"
#elif defined(__i386__)
#define OS_ARCH "ia32"
#elif defined(__arm__)
#define OS_ARCH "arm"
#elif defined(__riscv) && __riscv_xlen == 64
#define OS_ARCH "riscv64"
#elif defined(__powerpc64__)
#define OS_ARCH "ppc64"
#elif defined(__s390x__)
#define OS_ARCH "s390x"
#elif defined(__loongarch64)
#define OS_ARCH "loong64"
#elif defined(__mips__) && defined(__LP64__)
#define OS_ARCH "mips64el"
#else
#define OS_ARCH "unknown"
#endif

/* A JS string, or the code a JS caller sees when the text cannot become one
 * (longer than V8's string limit). */
static dv8_value_t string_or_code(dv8_env_t *env, const char *s, size_t len) {
  dv8_value_t v = dv8->string(env, s, len);
  return v != NULL ? v : dv8->number(env, UV_E2BIG);
}

typedef int (*sized_string_fn)(char *buf, size_t *size);

/* Calls one of libuv's "fill this buffer" functions (homedir, tmpdir,
 * hostname): they say UV_ENOBUFS and the size they need when the buffer is
 * short, which only an unusual environment variable causes, so the first
 * try uses the stack. */
static dv8_value_t sized_string(dv8_env_t *env, sized_string_fn get) {
  char stack[PATH_MAX];
  size_t size = sizeof(stack);
  int err = get(stack, &size);
  if (err == 0)
    return string_or_code(env, stack, size);
  if (err != UV_ENOBUFS)
    return dv8->number(env, err);
  char *heap = malloc(size);
  if (heap == NULL)
    return dv8->number(env, UV_ENOMEM);
  err = get(heap, &size);
  dv8_value_t out =
      err == 0 ? string_or_code(env, heap, size) : dv8->number(env, err);
  free(heap);
  return out;
}

/* env() -> { NAME: value, ... }, a fresh copy on every call */
static dv8_value_t js_env(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  uv_env_item_t *items;
  int count;
  int err = uv_os_environ(&items, &count);
  if (err)
    return dv8->number(env, err);
  dv8_value_t out = dv8->object(env);
  for (int i = 0; i < count; i++) {
    /* set() refuses a NULL value, so a value past V8's string limit leaves
     * its name out rather than failing the whole call. */
    dv8->set(env, out, items[i].name,
             dv8->string(env, items[i].value, SIZE_MAX));
  }
  uv_os_free_environ(items, count);
  return out;
}

/* getenv(name) -> string, or undefined when it is not set */
static dv8_value_t js_getenv(dv8_env_t *env, dv8_call_t *call) {
  char *name;
  size_t name_len;
  if (dv8->arg_string(env, call, 0, &name, &name_len))
    return NULL;
  /* A name with a NUL inside cannot be in the environment; passing it on
   * would look up a shorter name instead. */
  if (strlen(name) != name_len) {
    free(name);
    return dv8->undefined(env);
  }
  char stack[1024];
  char *buf = stack;
  size_t size = sizeof(stack);
  int err = uv_os_getenv(name, buf, &size);
  if (err == UV_ENOBUFS) {
    buf = malloc(size);
    err = buf == NULL ? UV_ENOMEM : uv_os_getenv(name, buf, &size);
  }
  free(name);
  dv8_value_t out;
  if (err == 0)
    out = string_or_code(env, buf, size);
  else if (err == UV_ENOENT)
    out = dv8->undefined(env);
  else
    out = dv8->number(env, err);
  if (buf != stack)
    free(buf);
  return out;
}

static dv8_value_t js_pid(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, uv_os_getpid());
}

static dv8_value_t js_ppid(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, uv_os_getppid());
}

static dv8_value_t js_hostname(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return sized_string(env, uv_os_gethostname);
}

static dv8_value_t js_homedir(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return sized_string(env, uv_os_homedir);
}

static dv8_value_t js_tmpdir(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return sized_string(env, uv_os_tmpdir);
}

static void set_u64(dv8_env_t *env, dv8_value_t obj, const char *name,
                    uint64_t n) {
  dv8->set_number(env, obj, name, (double)n);
}

/* cpus() -> [{ model, speed, times: { user, nice, sys, idle, irq } }]
 * speed in MHz, times in milliseconds since boot. */
static dv8_value_t js_cpus(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  uv_cpu_info_t *infos;
  int count;
  int err = uv_cpu_info(&infos, &count);
  if (err)
    return dv8->number(env, err);
  dv8_value_t out = dv8->array(env, (uint32_t)count);
  for (int i = 0; i < count; i++) {
    dv8_value_t cpu = dv8->object(env);
    dv8->set_string(env, cpu, "model",
                    infos[i].model != NULL ? infos[i].model : "unknown");
    dv8->set_number(env, cpu, "speed", infos[i].speed);
    dv8_value_t times = dv8->object(env);
    set_u64(env, times, "user", infos[i].cpu_times.user);
    set_u64(env, times, "nice", infos[i].cpu_times.nice);
    set_u64(env, times, "sys", infos[i].cpu_times.sys);
    set_u64(env, times, "idle", infos[i].cpu_times.idle);
    set_u64(env, times, "irq", infos[i].cpu_times.irq);
    dv8->set(env, cpu, "times", times);
    dv8->set_index(env, out, (uint32_t)i, cpu);
  }
  uv_free_cpu_info(infos, count);
  return out;
}

/* The CPUs this process may run on (its affinity mask), which is what a
 * worker pool should be sized by; cpus() lists every online CPU. */
static dv8_value_t js_available_parallelism(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, uv_available_parallelism());
}

/* A BigInt because nanoseconds since boot pass 2^53 after about 104 days. */
static dv8_value_t js_hrtime(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->bigint(env, (int64_t)uv_hrtime());
}

static dv8_value_t js_hrtime_ms(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, (double)uv_hrtime() / 1e6);
}

static dv8_value_t js_uptime(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  double seconds;
  int err = uv_uptime(&seconds);
  return dv8->number(env, err ? err : seconds);
}

static dv8_value_t js_loadavg(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  double avg[3];
  uv_loadavg(avg);
  dv8_value_t out = dv8->array(env, 3);
  for (uint32_t i = 0; i < 3; i++)
    dv8->set_index(env, out, i, dv8->number(env, avg[i]));
  return out;
}

/* libuv reports an unknown amount as 0 and gives no code: 0 it is. */
static dv8_value_t js_totalmem(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, (double)uv_get_total_memory());
}

static dv8_value_t js_freemem(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  return dv8->number(env, (double)uv_get_free_memory());
}

static dv8_value_t js_rss(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  size_t rss;
  int err = uv_resident_set_memory(&rss);
  return dv8->number(env, err ? err : (double)rss);
}

/* uname() -> { sysname, nodename, release, version, machine }. libuv's
 * uv_utsname_t has no nodename; uname(2) supplies it so that JS can check
 * hostname() against a second source. */
static dv8_value_t js_uname(dv8_env_t *env, dv8_call_t *call) {
  (void)call;
  uv_utsname_t u;
  int err = uv_os_uname(&u);
  if (err)
    return dv8->number(env, err);
  struct utsname sys;
  if (uname(&sys) != 0)
    sys.nodename[0] = '\0';
  dv8_value_t out = dv8->object(env);
  dv8->set_string(env, out, "sysname", u.sysname);
  dv8->set_string(env, out, "nodename", sys.nodename);
  dv8->set_string(env, out, "release", u.release);
  dv8->set_string(env, out, "version", u.version);
  dv8->set_string(env, out, "machine", u.machine);
  return out;
}

static int os_init(dv8_env_t *env, dv8_value_t exports) {
  static const struct {
    const char *name;
    dv8_function_cb fn;
  } functions[] = {
      {"env", js_env},
      {"getenv", js_getenv},
      {"pid", js_pid},
      {"ppid", js_ppid},
      {"hostname", js_hostname},
      {"homedir", js_homedir},
      {"tmpdir", js_tmpdir},
      {"cpus", js_cpus},
      {"availableParallelism", js_available_parallelism},
      {"hrtime", js_hrtime},
      {"hrtimeMs", js_hrtime_ms},
      {"uptime", js_uptime},
      {"loadavg", js_loadavg},
      {"totalmem", js_totalmem},
      {"freemem", js_freemem},
      {"rss", js_rss},
      {"uname", js_uname},
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    int err = dv8->set_function(env, exports, functions[i].name,
                                functions[i].fn, NULL);
    if (err)
      return err;
  }
  /* dv8 runs on Linux only (DESIGN.md), so this is not probed. */
  dv8->set_string(env, exports, "platform", "linux");
  dv8->set_string(env, exports, "arch", OS_ARCH);
  dv8->set_string(env, exports, "EOL", "\n");
  return 0;
}

DV8_MODULE(os, os_init);
