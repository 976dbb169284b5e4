/*
 * dv8's command line: run a module, evaluate a string, or start the REPL on
 * the main thread's runtime, then tear everything down in order (handles,
 * context, isolate, V8) so that the loop closes cleanly.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "contexts/contexts.h"
#include "host/host.h"

static const char usage[] =
    "usage: dv8 [options] [FILE.js [args...]]\n"
    "       dv8 [options] -e CODE [args...]\n"
    "       dv8 reload|upgrade|stats [--timeout MS] PID|SOCKET\n"
    "\n"
    "Runs FILE.js as an ES module (static and dynamic import, top-level\n"
    "await). With no file, starts a REPL on stdin.\n"
    "\n"
    "commands (also spelled --reload, --upgrade, --stats), to a running\n"
    "program:\n"
    "  reload PID|SOCKET   reload its code (its control socket, see\n"
    "                      docs/reload.md)\n"
    "  upgrade PID|SOCKET  hand it, connections and all, to a new dv8\n"
    "                      process (docs/processes.md)\n"
    "  stats PID|SOCKET    print its metrics, Prometheus text format\n"
    "                      (docs/metrics.md)\n"
    "  --timeout MS        how long to wait for the answer before giving up\n"
    "                      (30000 for reload, 60000 for upgrade, 10000 for\n"
    "                      stats)\n"
    "\n"
    "options:\n"
    "  -e, --eval CODE     evaluate CODE as an ES module\n"
    "  --watch             reload FILE when it or a file it imports changes\n"
    "                      (SIGHUP and `dv8 reload PID` reload too; see\n"
    "                      docs/reload.md)\n"
    "  --reload-deadline MS  how long a reload's prepare, unload() and load()\n"
    "                      may take together before it is abandoned (1000)\n"
    "  --flush-deadline MS   after an upgrade, how long this process goes on\n"
    "                      sending what it had queued to a peer that does\n"
    "                      not read, before ending that connection (60000)\n"
    "  --heap-limit MB     end the program when its JS heap and ArrayBuffers\n"
    "                      together would pass MB MiB (garbage collected\n"
    "                      first): a message on stderr, exit status 5.\n"
    "                      Default: no limit but V8's own heap limit\n"
    "                      (threads have theirs: spawn's heapLimitMb)\n"
    "  --init              stay as a supervisor while the program runs in a\n"
    "                      child process: upgrades keep this pid, signals\n"
    "                      are passed on, the program's status is this\n"
    "                      one's (the default as PID 1; DV8_INIT=0 turns\n"
    "                      it off); docs/processes.md\n"
    "  --metrics HOST:PORT serve the process's metrics at\n"
    "                      http://HOST:PORT/metrics (Prometheus; PORT alone:\n"
    "                      127.0.0.1); see docs/metrics.md\n"
    "  --persist DIR       keep the persistent root (import { root } from\n"
    "                      'persist') in DIR, committed at the end of every\n"
    "                      turn; with no file, a REPL whose inputs are\n"
    "                      replayed when it starts again (docs/persist.md)\n"
    "  --persist-sync turn|MS  sync each commit to the disk before the turn\n"
    "                      ends (turn, the default), or every MS ms (a power\n"
    "                      failure loses at most those MS; a crash of the\n"
    "                      process loses nothing either way)\n"
    "  -v, --version       print dv8's version and exit\n"
    "  -h, --help          print this help and exit\n"
    "  --v8-flags=FLAGS    pass FLAGS to V8 (e.g. "
    "--v8-flags=--max-old-space-size=64)\n"
    "  --                  end of options: what follows is the file and its "
    "args\n"
    "\n"
    "environment:\n"
    "  DV8_PATH            colon-separated directories searched first for\n"
    "                      native modules (NAME.so); a module there that\n"
    "                      another user could write is refused\n"
    "  DV8_CONTROL_TIMEOUT MS: reload's and upgrade's --timeout\n"
    "  XDG_RUNTIME_DIR     control sockets go in its dv8/ (else\n"
    "                      /tmp/dv8-UID/)\n";

typedef struct options {
  const char *file;
  const char *eval;
  const char *v8_flags;
  int watch;            /* --watch: reload when a file of the program changes */
  size_t heap_limit_mb; /* --heap-limit: JS heap and ArrayBuffers; 0: none */
  int first_arg;        /* index in argv of the script's first argument */
  const char *metrics;  /* --metrics HOST:PORT */
  const char *persist;  /* --persist DIR */
  const char *persist_sync; /* --persist-sync turn|MS */
} options;

/* --persist and --persist-sync, checked and passed to the persist module
 * (and to threads, helpers and an upgrade's new process) in the
 * environment: DV8_PERSIST, an absolute directory made if missing;
 * DV8_PERSIST_SYNC; DV8_PERSIST_REPL=1 for the REPL's journal. */
static int persist_setup(options *o) {
  unsetenv("DV8_PERSIST_REPL");
  if (o->persist_sync != NULL) {
    char *end;
    long ms = strtol(o->persist_sync, &end, 10);
    if (strcmp(o->persist_sync, "turn") != 0 &&
        (*end != '\0' || ms < 1 || ms > 60000)) {
      fprintf(stderr, "dv8: --persist-sync needs turn or a number of ms (1 "
                      "to 60000)\n");
      return 3;
    }
    if (o->persist == NULL) {
      fprintf(stderr, "dv8: --persist-sync goes with --persist DIR\n");
      return 3;
    }
    setenv("DV8_PERSIST_SYNC", o->persist_sync, 1);
  }
  if (o->persist == NULL)
    return 0;
  if (mkdir(o->persist, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "dv8: --persist %s: %s\n", o->persist, strerror(errno));
    return 3;
  }
  char dir[PATH_MAX];
  struct stat st;
  const char *why = NULL;
  if (realpath(o->persist, dir) == NULL || stat(dir, &st) != 0)
    why = strerror(errno);
  else if (!S_ISDIR(st.st_mode))
    why = "not a directory";
  if (why != NULL) {
    fprintf(stderr, "dv8: --persist %s: %s\n", o->persist, why);
    return 3;
  }
  setenv("DV8_PERSIST", dir, 1);
  if (o->file == NULL && o->eval == NULL)
    setenv("DV8_PERSIST_REPL", "1", 1);
  return 0;
}

/* 0 to go on, or an exit status + 1 (so that status 0 is distinct). */
static int parse_args(int argc, char **argv, options *o) {
  memset(o, 0, sizeof(*o));
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0')
      break;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 1;
    }
    if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
      printf("dv8 %s\n", DV8_VERSION_STRING);
      return 1;
    }
    if (strcmp(a, "-e") == 0 || strcmp(a, "--eval") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "dv8: %s needs an argument (the code to run)\n", a);
        return 3;
      }
      o->eval = argv[++i];
      i++;
      break;
    }
    if (strcmp(a, "--watch") == 0) {
      o->watch = 1;
      continue;
    }
    if (strcmp(a, "--reload-deadline") == 0 ||
        strcmp(a, "--flush-deadline") == 0) {
      char *end = NULL;
      unsigned long ms = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
      if (end == NULL || *end != '\0' || end == argv[i + 1] || ms == 0 ||
          ms > 3600000) {
        fprintf(stderr,
                "dv8: %s needs a number of milliseconds (1 to "
                "3600000)\n",
                a);
        return 3;
      }
      if (a[2] == 'r')
        dv8__reload_deadline_ms = (unsigned)ms;
      else
        dv8__flush_deadline_ms = (unsigned)ms;
      i++;
      continue;
    }
    if (strcmp(a, "--heap-limit") == 0) {
      char *end = NULL;
      unsigned long mb = i + 1 < argc ? strtoul(argv[i + 1], &end, 10) : 0;
      if (end == NULL || *end != '\0' || end == argv[i + 1] || mb == 0 ||
          mb > DV8_HEAP_LIMIT_MAX_MB || argv[i + 1][0] == '-') {
        fprintf(stderr, "dv8: --heap-limit needs a number of MiB (1 to %u)\n",
                DV8_HEAP_LIMIT_MAX_MB);
        return 3;
      }
      o->heap_limit_mb = mb;
      i++;
      continue;
    }
    if (strcmp(a, "--metrics") == 0 || strncmp(a, "--metrics=", 10) == 0) {
      const char *spec = a[9] == '=' ? a + 10 : i + 1 < argc ? argv[++i] : "";
      char why[256];
      if (dv8__metrics_http_check(spec, why, sizeof(why)) != 0) {
        fprintf(stderr, "dv8: --metrics %s\n", why);
        return 3;
      }
      o->metrics = spec;
      continue;
    }
    if (strcmp(a, "--persist") == 0 || strcmp(a, "--persist-sync") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        fprintf(stderr, "dv8: %s needs %s\n", a,
                a[9] == '\0' ? "a directory" : "turn or a number of ms");
        return 3;
      }
      if (a[9] == '\0')
        o->persist = argv[++i];
      else
        o->persist_sync = argv[++i];
      continue;
    }
    if (strncmp(a, "--v8-flags=", 11) == 0) {
      o->v8_flags = a + 11;
      continue;
    }
    fprintf(stderr, "dv8: unknown option '%s' (see dv8 --help)\n", a);
    return 3;
  }
  if (o->eval == NULL && i < argc)
    o->file = argv[i++];
  o->first_arg = i;
  if (o->watch && o->file == NULL) {
    fprintf(stderr, "dv8: --watch needs a file to run\n");
    return 3;
  }
  return persist_setup(o);
}

/*
 * ArrayBuffers are malloc'd and freed in bursts when V8 collects them (up
 * to 64 MiB of them between two external-memory GCs). With glibc's
 * defaults, buffers over 128 KiB are fresh mmaps and every burst of frees
 * trims the heap, so each new buffer pays a page fault per 4 KiB: encoding
 * a 1 MiB message cost 5x the copy. Keeping buffers up to 32 MiB in the
 * heap (glibc's own adaptive ceiling) and trimming only past 64 MiB free
 * trades that much retained memory for buffers that cost their copy.
 * GLIBC_TUNABLES, when set, is left in charge.
 */
static void tune_malloc(void) {
  if (getenv("GLIBC_TUNABLES") != NULL)
    return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

static void set_exe_dir(void) {
  char path[PATH_MAX];
  size_t len = sizeof(path);
  if (uv_exepath(path, &len) != 0)
    return;
  char *slash = strrchr(path, '/');
  if (slash != NULL)
    *slash = '\0';
  dv8__native_set_exe_dir(path);
}

int main(int argc, char **argv) {
  /* dv8 reload|upgrade|stats PID|PATH (or --reload, --upgrade, --stats): a
   * client of a running program's control socket. */
  static const char *const commands[] = {"upgrade", "reload", "stats"};
  for (int k = 0; argc >= 2 && k < 3; k++) {
    const char *command = commands[k];
    const char *name =
        argv[1][0] == '-' && argv[1][1] == '-' ? argv[1] + 2 : argv[1];
    if (strcmp(name, command) != 0)
      continue;
    return dv8__control_command(command, argc - 2, argv + 2);
  }
  /* --init, or PID 1 (a container's): a supervisor that stays while the
   * program runs, and upgrades pass it on, in its child (init.c). */
  const char *init_env = getenv("DV8_INIT");
  int init = init_env == NULL ? getpid() == 1 : strcmp(init_env, "1") == 0;
  int init_at = 0;
  for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0;
       i++)
    if (strcmp(argv[i], "--init") == 0)
      init_at = i;
  if (init_at > 0) {
    for (int i = init_at; i < argc; i++) /* the child runs without it */
      argv[i] = argv[i + 1];
    argc--;
    init = init_env == NULL || strcmp(init_env, "0") != 0;
  }
  if (init) {
    options check;
    int parsed = parse_args(argc, argv, &check);
    if (parsed)
      return parsed - 1;
    return dv8__init_run(argc, argv);
  }
  options o;
  int parsed = parse_args(argc, argv, &o);
  if (parsed)
    return parsed - 1;
  /* Writes to a closed pipe or socket return EPIPE instead of killing us. */
  signal(SIGPIPE, SIG_IGN);
  dv8__crash_init();
  tune_malloc();
  dv8__inherit_take();
  argv = uv_setup_args(argc, argv);
  set_exe_dir();
  dv8__native_path_absolute();

  /* The script sees [name, ...args] (binding.args; dv8.args drops name). */
  int script_argc = 1 + (argc - o.first_arg);
  char **script_argv = calloc((size_t)script_argc + 1, sizeof(char *));
  CHECK(script_argv != NULL);
  script_argv[0] = o.file ? (char *)o.file : o.eval ? "[eval]" : "[repl]";
  for (int i = o.first_arg; i < argc; i++)
    script_argv[1 + i - o.first_arg] = argv[i];

  if (dv8__v8_init(argv[0], o.v8_flags) != 0) {
    fprintf(stderr, "dv8: V8 failed to initialise\n");
    return 1;
  }
  dv8_runtime_t rt;
  int err = dv8__runtime_init(&rt, script_argc, script_argv);
  if (err) {
    fprintf(stderr, "dv8: cannot create the event loop: %s\n",
            dv8_strerror(err));
    return 1;
  }
  dv8__handles_start_at(&rt.handles, dv8__upgrade_first_id);
  dv8__crash_thread_enter(&rt, NULL);
  rt.heap_limit_mb = o.heap_limit_mb;
  err = dv8__isolate_new(&rt);
  if (err) {
    fprintf(stderr, "dv8: cannot create an isolate: %s\n", dv8_strerror(err));
    dv8__crash_thread_leave();
    return 1;
  }
  int status = 1;
  if (o.metrics != NULL) {
    char why[512];
    if (dv8__metrics_http_start(&rt, o.metrics, dv8__upgrade_fd >= 0, why,
                                sizeof(why)) != 0) {
      fprintf(stderr, "dv8: --metrics: %s\n", why);
      dv8__metrics_http_stop();
      o.file = o.eval = NULL;
      status = 2;
    }
  }
  dv8_env_t *env = status == 2 ? NULL : dv8__context_new(&rt);
  if (env != NULL) {
    if (o.eval != NULL)
      status = dv8__run_eval(env, o.eval);
    else if (o.file != NULL) {
      dv8__watch_all = o.watch; /* threads watch their own files too */
      status = dv8__upgrade_fd >= 0
                   ? dv8__run_upgraded(env, o.file, dv8__upgrade_fd)
                   : dv8__run_main(env, o.file);
      if (status == 0) {
        dv8__signals_start(&rt);
        dv8__control_start(&rt); /* a convenience: runs without it */
        /* An upgrade's new process names itself: the old one may not have
         * yet (systemd needs NotifyAccess=all for this; docs). */
        if (dv8__upgrade_fd >= 0)
          dv8__notify("MAINPID=%d\nREADY=1", (int)getpid());
        else
          dv8__notify("READY=1");
      }
      if (status == 0 && o.watch)
        dv8__watch_start(&rt);
    } else
      status = dv8__run_repl(env);
    if (status == 0) {
      dv8__runtime_run(&rt);
      /* Not after an upgrade: the new process is the service now. */
      if (o.file != NULL && !dv8__upgrade_handed_over)
        dv8__notify("STOPPING=1");
      /* A reload may have replaced the context the program started in. */
      env = rt.env;
      status = dv8__finish_main(env);
    }
    if (dv8__turn_last(env) != 0 && status == 0)
      status = 1;
  }
  fflush(stdout);
  dv8__repl_signals_stop(); /* SIGINT and the terminal as they were */
  /* Threads end first, then handles: their free callbacks drop references
   * into the context. */
  dv8__upgrade_stop(); /* before the control socket: it answers there */
  dv8__control_stop();
  dv8__metrics_http_stop();
  dv8__reload_stop(&rt);
  dv8__threads_shutdown();
  dv8__ports_close(&rt);
  err = dv8__runtime_close(&rt);
  CHECK(err == 0);
  if (env != NULL)
    dv8__context_dispose(env);
  dv8__isolate_dispose(&rt);
  dv8__runtime_data_free(&rt);
  dv8__v8_dispose();
  dv8__native_unload_all();
  free(script_argv);
  uv_library_shutdown();
  dv8__crash_thread_leave(); /* rt lives in this frame */
  return status;
}
