// The data-path wire formats of the tcp transport and of descriptor passing
// (shm, file). Host byte order: both ends run on x86-64 or arm64 Linux, and
// the handshake's magic would fail on a byte-order mismatch.
#pragma once

#include <cstdint>

namespace dmem::wire {

constexpr char kDataMagic[8] = {'D', 'M', 'E', 'M', 'D', 'A', 'T', 'A'};
constexpr uint32_t kDataVersion = 1;
constexpr uint32_t kMaxOpBytes = 1u << 20;  // one request moves at most 1 MiB
constexpr uint32_t kNoSlab = 0xffffffffu;

// First bytes on a data connection (tcp) or a descriptor request (unix).
struct Hello {
  char magic[8];
  uint32_t version;
  uint32_t slot;       // descriptor requests: the slot, or kNoSlab for the pool file
  char secret[16];     // the session's secret, 16 hex digits, not terminated
};
static_assert(sizeof(Hello) == 32);

struct HelloReply {
  int32_t status;      // 0, or an errno value
  uint32_t session;
  uint64_t offset;     // descriptor replies: file offset of the slot
  uint64_t length;     // descriptor replies: bytes the descriptor covers
};
static_assert(sizeof(HelloReply) == 24);

enum Op : uint8_t { kRead = 0, kWrite = 1 };

struct Request {
  uint8_t op;
  uint8_t pad[3];
  uint32_t tag;
  uint64_t address;
  uint32_t length;
  uint32_t key;
};  // a WRITE is followed by `length` bytes
static_assert(sizeof(Request) == 24);

struct Response {
  uint32_t tag;
  int32_t status;      // 0, or an errno value (see Status)
  uint32_t length;     // bytes that follow (READ) or were written (WRITE)
  uint32_t slot;       // the slot the address fell in, or kNoSlab
};  // a successful READ is followed by `length` bytes
static_assert(sizeof(Response) == 16);

}  // namespace dmem::wire
