#include "transport/fd_passing.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

namespace dmem {

size_t unix_address(const std::string& path, struct sockaddr_un* address) {
  memset(address, 0, sizeof(*address));
  address->sun_family = AF_UNIX;
  size_t n = std::min(path.size(), sizeof(address->sun_path) - 1);
  memcpy(address->sun_path, path.data(), n);
  if (n > 0 && path[0] == '@') address->sun_path[0] = '\0';
  return offsetof(struct sockaddr_un, sun_path) + n;
}

int send_with_fd(int socket, const void* data, size_t bytes, int fd) noexcept {
  struct iovec iov = {const_cast<void*>(data), bytes};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(bytes)) return 0;
    if (n >= 0) return -EMSGSIZE;  // unix stream sockets send small messages whole
    if (errno != EINTR) return -errno;
  }
}

int recv_with_fd(int socket, void* data, size_t bytes, UniqueFd* fd) noexcept {
  fd->reset();
  size_t got = 0;
  while (got < bytes) {
    struct iovec iov = {static_cast<char*>(data) + got, bytes - got};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -ECONNRESET;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int received;
        memcpy(&received, CMSG_DATA(c), sizeof(int));
        fd->reset(received);
      }
    }
    got += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace dmem
