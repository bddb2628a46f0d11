// Passing file descriptors over unix sockets (SCM_RIGHTS), and the abstract
// socket names the memory node listens on.
#pragma once

#include <sys/un.h>

#include <cstddef>
#include <string>

#include "common/unique_fd.h"

namespace dmem {

// A sockaddr_un for `path`; a leading '@' names an abstract socket.
// Returns the address length to pass to bind/connect.
size_t unix_address(const std::string& path, struct sockaddr_un* address);

// Sends `bytes` of `data` with `fd` attached (fd < 0: none). Returns 0 or -errno.
int send_with_fd(int socket, const void* data, size_t bytes, int fd) noexcept;
// Receives exactly `bytes` (or fails) and at most one descriptor into *fd
// (-1 when none came). Returns 0 or -errno; -ECONNRESET on end of stream.
int recv_with_fd(int socket, void* data, size_t bytes, UniqueFd* fd) noexcept;

}  // namespace dmem
