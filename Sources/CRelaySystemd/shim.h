#ifndef CRELAY_SYSTEMD_SHIM_H
#define CRELAY_SYSTEMD_SHIM_H

#include <systemd/sd-daemon.h>

/// Sends one notification (`READY=1`, `STATUS=…`) to the service manager; a no-op outside systemd.
static inline int relay_sd_notify(const char *state) {
    return sd_notify(0, state);
}

#endif
