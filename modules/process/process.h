/*
 * process.h — what the two halves of the process module share: process.c
 * (children, exec, the module's init) and signals.c (signal handlers and
 * signal names). Not a public header.
 */
#ifndef DV8_PROCESS_H
#define DV8_PROCESS_H

#include <stdint.h>

#include "dv8.h"

/* A signal given as a name ("SIGTERM") or a number; 0 if unknown. */
int process__signal_of(dv8_env_t *env, dv8_value_t v);
/* A signal's name ("SIGTERM"), or "SIG?". */
const char *process__signal_name(int signum);
/* Defines SIGHUP, SIGINT, ... as numbers on exports. */
void process__export_signals(dv8_env_t *env, dv8_value_t exports);
/* onSignal(name | id, cb) and refSignal(id, on): see signals.c. */
dv8_value_t process__js_on_signal(dv8_env_t *env, dv8_call_t *call);
dv8_value_t process__js_ref_signal(dv8_env_t *env, dv8_call_t *call);
/* close(id) for a signal handler: closes the one argument 0 names, if it
 * names one. */
void process__close_signal(dv8_env_t *env, dv8_call_t *call);
/* The handle type of signal handlers (signals.c). */
extern const dv8_handle_type_t process__signal_type;

#endif
