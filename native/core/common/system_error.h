// An operational failure of a system call or library call: errno, the call's
// name and a message naming the operation, its arguments and the fix.
// Control-path code throws it; data-path code returns -errno instead.
#pragma once

#include <exception>
#include <string>

namespace dmem {

class SystemError : public std::exception {
 public:
  SystemError(int err, std::string syscall, std::string message)
      : err_(err), syscall_(std::move(syscall)), message_(std::move(message)) {}

  int err() const noexcept { return err_; }
  const std::string& syscall() const noexcept { return syscall_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int err_;
  std::string syscall_;
  std::string message_;
};

// The symbolic name of an errno value ("EPERM"), or "E<number>" if unknown.
std::string errno_name(int err);

// Throws SystemError(err, syscall, "<syscall> <context>: <strerror>").
[[noreturn]] void throw_errno(int err, const char* syscall, const std::string& context);

}  // namespace dmem
