// Failed work completions are not system errors: a READ or WRITE the device
// carried out and the peer refused (IBV_WC_REM_ACCESS_ERR), or that never got
// an answer (IBV_WC_RETRY_EXC_ERR), has an ibv_wc_status, not an errno.
//
// On the data path a completion's status word is 0, an errno value (a
// malformed operation, a lost session), or kWcStatusBase + ibv_wc_status
// (lib/transport/layout.ts: WC_STATUS_BASE); TypeScript turns the latter into
// a WorkCompletionError carrying the enum name.
#pragma once

#include <infiniband/verbs.h>

#include <cstdint>

namespace dmem::verbs {

constexpr int32_t kWcStatusBase = 0x10000;

// "IBV_WC_REM_ACCESS_ERR", or nullptr for a value this header does not know.
inline const char* wc_status_name(int status) noexcept {
  switch (status) {
#define DMEM_WC(name) \
  case name:          \
    return #name;
    DMEM_WC(IBV_WC_SUCCESS)
    DMEM_WC(IBV_WC_LOC_LEN_ERR)
    DMEM_WC(IBV_WC_LOC_QP_OP_ERR)
    DMEM_WC(IBV_WC_LOC_EEC_OP_ERR)
    DMEM_WC(IBV_WC_LOC_PROT_ERR)
    DMEM_WC(IBV_WC_WR_FLUSH_ERR)
    DMEM_WC(IBV_WC_MW_BIND_ERR)
    DMEM_WC(IBV_WC_BAD_RESP_ERR)
    DMEM_WC(IBV_WC_LOC_ACCESS_ERR)
    DMEM_WC(IBV_WC_REM_INV_REQ_ERR)
    DMEM_WC(IBV_WC_REM_ACCESS_ERR)
    DMEM_WC(IBV_WC_REM_OP_ERR)
    DMEM_WC(IBV_WC_RETRY_EXC_ERR)
    DMEM_WC(IBV_WC_RNR_RETRY_EXC_ERR)
    DMEM_WC(IBV_WC_LOC_RDD_VIOL_ERR)
    DMEM_WC(IBV_WC_REM_INV_RD_REQ_ERR)
    DMEM_WC(IBV_WC_REM_ABORT_ERR)
    DMEM_WC(IBV_WC_INV_EECN_ERR)
    DMEM_WC(IBV_WC_INV_EEC_STATE_ERR)
    DMEM_WC(IBV_WC_FATAL_ERR)
    DMEM_WC(IBV_WC_RESP_TIMEOUT_ERR)
    DMEM_WC(IBV_WC_GENERAL_ERR)
    DMEM_WC(IBV_WC_TM_ERR)
    DMEM_WC(IBV_WC_TM_RNDV_INCOMPLETE)
#undef DMEM_WC
    default:
      return nullptr;
  }
}

}  // namespace dmem::verbs
