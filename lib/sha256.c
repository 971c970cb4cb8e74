/* sha256.c - placeholder; being written. */
#include "config.h"
