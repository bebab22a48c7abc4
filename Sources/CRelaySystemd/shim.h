#ifndef CRELAY_SYSTEMD_SHIM_H
#define CRELAY_SYSTEMD_SHIM_H

#include <stdint.h>
#include <systemd/sd-daemon.h>

/// Sends one notification (`READY=1`, `STATUS=…`) to the service manager; a no-op outside systemd.
static inline int relay_sd_notify(const char *state) {
    return sd_notify(0, state);
}

/// The watchdog interval systemd expects pings within (microseconds), or 0 when the watchdog is off.
/// Uses sd_watchdog_enabled, which also checks WATCHDOG_PID is this process.
static inline unsigned long long relay_sd_watchdog_usec(void) {
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}

/// How many sockets systemd passed (socket activation), starting at SD_LISTEN_FDS_START; 0 when none.
/// Unsets LISTEN_FDS and friends so children do not inherit them.
static inline int relay_sd_listen_fds(void) {
    int count = sd_listen_fds(1);
    return count > 0 ? count : 0;
}

static inline int relay_sd_listen_fds_start(void) {
    return SD_LISTEN_FDS_START;
}

#endif
