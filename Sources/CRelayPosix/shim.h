#ifndef RELAY_POSIX_SHIM_H
#define RELAY_POSIX_SHIM_H

#include <fcntl.h>
#include <unistd.h>

/* GNU extensions that Swift's Glibc module does not show (it is built without _GNU_SOURCE). */
int memfd_create(const char *name, unsigned int flags);
int pipe2(int pipefd[2], int flags);

/// An anonymous, close-on-exec memory file (MFD_CLOEXEC); -1 with errno on failure.
static inline int relay_memfd_create(const char *name) {
    return memfd_create(name, 1U);
}

/// A close-on-exec pipe: no child spawned meanwhile by another thread inherits either end.
static inline int relay_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

#endif
