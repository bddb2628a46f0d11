#include "transport/remote_session.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/system_error.h"
#include "transport/fd_passing.h"
#include "transport/wire.h"

namespace dmem {

RemoteSession::RemoteSession(const RemoteSessionOptions& options)
    : options_(options), slots_(options.slots) {}

std::shared_ptr<RemoteSession> RemoteSession::create(const RemoteSessionOptions& options) {
  if (options.secret.size() != 16) throw SystemError(EINVAL, "RemoteSession", "the session secret must be 16 hex digits");
  if (options.slab_size == 0 || options.slots == 0) throw SystemError(EINVAL, "RemoteSession", "slab size and slot count must be positive");
  std::shared_ptr<RemoteSession> session(new RemoteSession(options));
  if (options.kind == TransportKind::kFile) {
    uint64_t length = 0;
    session->pool_file_ = session->fetch_descriptor(wire::kNoSlab, &length);
  }
  return session;
}

// Teardown: slots (mappings, memfds) and then the pool file close with the
// members; lanes hold a reference, so none is using them any more.
RemoteSession::~RemoteSession() = default;

UniqueFd RemoteSession::fetch_descriptor(uint32_t slot, uint64_t* length) {
  const std::string what = "descriptor of " + (slot == wire::kNoSlab ? std::string("the pool file") : "slab " + std::to_string(slot)) +
                           " from " + options_.unix_path;
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) throw_errno(errno, "socket", what);
  struct timeval tv = {options_.timeout_ms / 1000, (options_.timeout_ms % 1000) * 1000};
  ::setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(sock.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_un addr;
  size_t len = unix_address(options_.unix_path, &addr);
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), static_cast<socklen_t>(len)) < 0) {
    throw_errno(errno, "connect", what + " (is the memory node running on this machine?)");
  }
  wire::Hello hello = {};
  memcpy(hello.magic, wire::kDataMagic, sizeof(hello.magic));
  hello.version = wire::kDataVersion;
  hello.slot = slot;
  memcpy(hello.secret, options_.secret.data(), 16);
  int rc = send_with_fd(sock.get(), &hello, sizeof(hello), -1);
  if (rc < 0) throw_errno(-rc, "sendmsg", what);
  wire::HelloReply reply;
  UniqueFd fd;
  rc = recv_with_fd(sock.get(), &reply, sizeof(reply), &fd);
  if (rc < 0) throw_errno(-rc, "recvmsg", what);
  if (reply.status != 0) throw_errno(reply.status, "recvmsg", what + ": refused by the memory node");
  if (!fd.valid()) throw SystemError(EPROTO, "recvmsg", what + ": no descriptor came");
  *length = reply.length;
  return fd;
}

void RemoteSession::add_slab(uint32_t slot, uint32_t key) {
  if (slot >= options_.slots) throw SystemError(ERANGE, "add_slab", "slab " + std::to_string(slot) + " is beyond the session's " + std::to_string(options_.slots) + " slots");
  Slot& s = slots_[slot];
  if (s.active.load(std::memory_order_acquire) != 0) throw SystemError(EBUSY, "add_slab", "slab " + std::to_string(slot) + " is already active");
  if (options_.kind == TransportKind::kShm) {
    uint64_t length = 0;
    UniqueFd fd = fetch_descriptor(slot, &length);
    if (length < options_.slab_size) throw SystemError(EPROTO, "add_slab", "slab descriptor is shorter than the slab");
    void* base = ::mmap(nullptr, options_.slab_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd.get(), 0);
    if (base == MAP_FAILED) throw_errno(errno, "mmap", "slab " + std::to_string(slot));
    if (s.mapping.base() != nullptr) s.retired.push_back(std::move(s.mapping));
    s.mapping = Mapping(base, options_.slab_size);
    s.memfd = std::move(fd);
  }
  s.key = key;
  // Publish: the fields above are visible to any lane that sees active == 1.
  s.active.store(1, std::memory_order_release);
}

void RemoteSession::remove_slab(uint32_t slot) noexcept {
  if (slot >= options_.slots) return;
  Slot& s = slots_[slot];
  s.active.store(0, std::memory_order_release);
  if (s.memfd.valid()) {
    // Free the memory now; the mapping stays until the session dies.
    (void)::fallocate(s.memfd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                      static_cast<off_t>(options_.slab_size));
    s.memfd.reset();
  }
}

int RemoteSession::resolve(uint64_t address, uint32_t length, uint32_t key, uint32_t* slot,
                           uint64_t* offset) const noexcept {
  *slot = wire::kNoSlab;
  if (address < options_.address_base) return ERANGE;
  const uint64_t relative = address - options_.address_base;
  const uint64_t index = relative / options_.slab_size;
  if (index >= options_.slots) return ERANGE;
  *slot = static_cast<uint32_t>(index);
  const uint64_t within = relative % options_.slab_size;
  if (length == 0 || length > options_.slab_size - within) return ERANGE;
  const Slot& s = slots_[index];
  if (s.active.load(std::memory_order_acquire) == 0) return EACCES;
  if (s.key != key) return EKEYREJECTED;
  *offset = within;
  return 0;
}

}  // namespace dmem
