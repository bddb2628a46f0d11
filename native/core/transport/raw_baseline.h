// The raw socket baseline of `dmem bench transport`: the least a
// request/response over TCP can cost here, with the same framing sizes as the
// tcp transport (a 24-byte request; a 16-byte header plus `size` bytes back)
// but no leases, no checks, no JavaScript. The server is one blocking thread
// per connection; the client keeps `inflight` requests outstanding.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace dmem {

class RawServer {
 public:
  RawServer(const std::string& host, uint16_t port);  // throws
  ~RawServer();
  uint16_t port() const noexcept { return port_; }
  void stop() noexcept;

 private:
  void accept_loop() noexcept;
  static void serve(int fd) noexcept;

  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;  // last
};

class RawClient {
 public:
  RawClient(const std::string& host, uint16_t port);  // throws
  // Runs `count` request/responses of `size` bytes with `inflight` outstanding.
  // Writes each one's latency (µs) to lat_us[0..count); returns elapsed ns,
  // or -errno.
  int64_t run(uint32_t size, uint32_t inflight, uint32_t count, double* lat_us) noexcept;

 private:
  UniqueFd socket_;
  std::vector<uint8_t> buffer_;
};

}  // namespace dmem
