/**
 * Error codes of the verbs transport (docs/ERRORS.md). They live here rather
 * than in lib/errors.ts's ErrorCodes so the verbs work stays in its own
 * files; the classes are the usual ones (DmemError, CompletionError).
 */
export const VerbsErrorCodes = {
  /** A verbs work request completed with a failed ibv_wc_status (WorkCompletionError). */
  workCompletion: 'ERR_DMEM_WORK_COMPLETION',
  /** connect-qp (or a verbs lane) asked of a memory node that serves another transport. */
  wrongTransport: 'ERR_DMEM_WRONG_TRANSPORT',
  /** disconnect-qp named a queue pair the session does not have. */
  unknownQp: 'ERR_DMEM_UNKNOWN_QP',
} as const;
