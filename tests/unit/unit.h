/*
 * unit.h — the C unit tests' tiny harness: ASSERT aborts the test binary
 * with file:line and the failed expression; main returns 0 when all passed.
 */
#ifndef DV8_UNIT_H
#define DV8_UNIT_H

#include <stdio.h>
#include <stdlib.h>

#define ASSERT(expr)                                                           \
  do {                                                                         \
    if (!(expr)) {                                                             \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,     \
              #expr);                                                          \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define ASSERT_EQ(a, b)                                                        \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (a_ != b_) {                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,      \
              __LINE__, #a, #b, a_, b_);                                       \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#endif
