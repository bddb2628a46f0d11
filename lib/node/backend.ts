/**
 * The memory node's data side, as the control server (TypeScript) sees it.
 * The control server decides policy (which slot, when a lease expires); a
 * SlabBackend does the mechanism (memory for a slab, the data listener,
 * checking each request against the session's slabs). The native backend is
 * lib/node/native-backend.ts.
 */

export type TransportKind = 'tcp' | 'shm' | 'file' | 'verbs';

export type DataEndpoint =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string }
  | { kind: 'verbs'; device: string; port: number; gidIndex: number };

/**
 * What an RC queue pair tells its peer so the two can connect (verbs only;
 * docs/PROTOCOL.md, connect-qp).
 */
export interface QueuePairEndpoint {
  /** 24-bit queue pair number. */
  qpn: number;
  /** 24-bit first packet sequence number. */
  psn: number;
  /** 32 lowercase hex digits; zeros on InfiniBand without GRH. */
  gid: string;
  /** InfiniBand LID; 0 on RoCE. */
  lid: number;
  /** Active MTU in bytes (256..4096); the path uses the smaller of the two. */
  mtu: number;
}

export interface SlabGrant {
  address: number;
  length: number;
  key: number;
}

export interface BackendStats {
  /** Data operations served, bytes moved, and operations refused. */
  reads: number;
  writes: number;
  bytesRead: number;
  bytesWritten: number;
  refused: number;
  dataConnections: number;
}

export interface SlabBackend {
  readonly transport: TransportKind;
  readonly slabSize: number;
  /** Number of slots: poolBytes / slabSize. */
  readonly slots: number;
  readonly addressBase: number;
  /** Where clients connect for data. */
  dataEndpoint(): DataEndpoint;
  /** Lets data connections that present `secret` join session `sessionId`. */
  openSession(sessionId: number, secret: string): void;
  /** Closes the session's data connections; its slabs must be revoked first. */
  closeSession(sessionId: number): void;
  /** Backs slot `slot` with memory for `sessionId`; returns its address range and key. */
  grant(slot: number, sessionId: number): SlabGrant;
  /** Frees slot `slot`; its memory reads as zeros before any reuse. */
  revoke(slot: number): void;
  stats(): BackendStats;
  /** Stops the data listener and frees everything. Safe to call twice. */
  close(): void;
  /**
   * Verbs only: a queue pair for `sessionId`, connected to the client's, in
   * the session's protection domain (so it reaches that session's slabs and
   * nothing else). Backends without it answer connect-qp with
   * ERR_DMEM_WRONG_TRANSPORT.
   */
  connectQueuePair?(sessionId: number, client: QueuePairEndpoint): QueuePairEndpoint;
  /** Verbs only: frees the session's queue pair `qpn`; false when it has none by that number. */
  disconnectQueuePair?(sessionId: number, qpn: number): boolean;
}
