/* A shared object without the dv8_module symbol: must be refused. */
#include "dv8.h"

DV8_EXPORT int not_a_module = 1;
