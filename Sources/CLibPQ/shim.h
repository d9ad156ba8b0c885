#ifndef TRIBUTARY_CLIBPQ_SHIM_H
#define TRIBUTARY_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#include <poll.h>
#endif
