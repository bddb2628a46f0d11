/**
 * The verbs additions to the control protocol, on any machine (no RDMA
 * device needed): connect-qp / qp-connected and disconnect-qp /
 * qp-disconnected between a real ControlServer and MemoryNodeClient, against
 * a stand-in backend that hands out endpoints; a tcp node's refusal; the
 * messages' validation; and how a verbs node is refused by a client without
 * RDMA. The real thing runs in test/softroce/.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ControlServer,
  MemoryNodeClient,
  RemoteSession,
  WC_STATUS_BASE,
  WorkCompletionError,
  completionError,
  type QueuePairEndpoint,
} from '../../dist/index.js';
import { parseClientMessage, parseServerMessage } from '../../dist/node/messages.js';
import { NativeSlabBackend } from '../../dist/node/native-backend.js';
import { verbsBuilt, loadVerbs } from '../../dist/native/binding.js';
import { RecordingBackend } from '../helpers/recording-backend';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const CLIENT_QP: QueuePairEndpoint = { qpn: 17, psn: 0xabcdef, gid: '00000000000000000000ffff0a630001', lid: 0, mtu: 1024 };

/** A SlabBackend that says it serves verbs and connects stand-in queue pairs. */
class StandInVerbsBackend extends RecordingBackend {
  override readonly transport = 'verbs' as const;
  readonly qps = new Map<number, { session: number; client: QueuePairEndpoint }>();
  #nextQpn = 100;

  override dataEndpoint() {
    return { kind: 'verbs' as const, device: 'stand-in0', port: 1, gidIndex: 1 };
  }

  connectQueuePair(sessionId: number, client: QueuePairEndpoint): QueuePairEndpoint {
    const qpn = this.#nextQpn++;
    this.qps.set(qpn, { session: sessionId, client });
    return { qpn, psn: 5, gid: '00000000000000000000ffff0a630002', lid: 0, mtu: Math.min(client.mtu, 4096) };
  }

  disconnectQueuePair(sessionId: number, qpn: number): boolean {
    const qp = this.qps.get(qpn);
    if (qp === undefined || qp.session !== sessionId) return false;
    this.qps.delete(qpn);
    return true;
  }
}

async function start(backend: RecordingBackend) {
  const server = new ControlServer({ backend, port: 0 });
  cleanups.push(() => server.close());
  const { port } = await server.listen();
  const client = await MemoryNodeClient.connect({ host: '127.0.0.1', port, client: 'verbs protocol test' });
  cleanups.push(() => client.close());
  return { server, port, client };
}

describe('connect-qp and disconnect-qp', () => {
  it('relay queue pair endpoints between the client and the backend, per session', async () => {
    const backend = new StandInVerbsBackend();
    const { client } = await start(backend);
    expect(client.welcome).toMatchObject({ transport: 'verbs', data: { kind: 'verbs', device: 'stand-in0' } });
    const node = await client.connectQp(CLIENT_QP);
    expect(node).toEqual({ qpn: 100, psn: 5, gid: '00000000000000000000ffff0a630002', lid: 0, mtu: 1024 });
    expect(backend.qps.get(100)).toEqual({ session: client.welcome.sessionId, client: CLIENT_QP });
    await client.disconnectQp(100);
    expect(backend.qps.size).toBe(0);
    await expect(client.disconnectQp(100)).rejects.toMatchObject({ code: 'ERR_DMEM_UNKNOWN_QP' });
    // The connection stays usable after a refused request.
    expect((await client.lease()).slabId).toBe(0);
    expect(backend.violations).toEqual([]);
  });

  it('a node that does not serve verbs refuses connect-qp with ERR_DMEM_WRONG_TRANSPORT and keeps the session', async () => {
    const inner = new NativeSlabBackend({ transport: 'tcp', poolBytes: 4 * 65536, slabSize: 65536, host: '127.0.0.1' });
    cleanups.push(() => inner.close());
    const { client } = await start(new RecordingBackend({ inner }));
    await expect(client.connectQp(CLIENT_QP)).rejects.toMatchObject({
      code: 'ERR_DMEM_WRONG_TRANSPORT',
      message: expect.stringMatching(/serves tcp, not verbs/),
    });
    expect((await client.lease()).length).toBe(65536);
  });

  it.each([
    [{ type: 'connect-qp', id: 1, ...CLIENT_QP, qpn: 0 }, /connect-qp\.qpn: expected an integer in \[1, 16777215\]/],
    [{ type: 'connect-qp', id: 1, ...CLIENT_QP, psn: 2 ** 24 }, /connect-qp\.psn/],
    [{ type: 'connect-qp', id: 1, ...CLIENT_QP, gid: 'fe80::1' }, /connect-qp\.gid: expected 32 lowercase hex digits/],
    [{ type: 'connect-qp', id: 1, ...CLIENT_QP, mtu: 1500 }, /connect-qp\.mtu: expected one of 256, 512, 1024, 2048, 4096/],
    [{ type: 'disconnect-qp', id: 1 }, /disconnect-qp\.qpn/],
  ])('refuses the malformed request %j naming the field', (message, pattern) => {
    expect(() => parseClientMessage(message)).toThrow(pattern);
  });

  it('parses both replies', () => {
    expect(parseServerMessage({ type: 'qp-connected', id: 3, ...CLIENT_QP })).toEqual({ type: 'qp-connected', id: 3, ...CLIENT_QP });
    expect(parseServerMessage({ type: 'qp-disconnected', id: 4, qpn: 9 })).toEqual({ type: 'qp-disconnected', id: 4, qpn: 9 });
    expect(() => parseServerMessage({ type: 'qp-connected', id: 3, ...CLIENT_QP, lid: 70000 })).toThrow(/qp-connected\.lid/);
  });
});

describe('verbs on a machine without RDMA', () => {
  let noDevice = true;
  try {
    noDevice = !verbsBuilt() || loadVerbs().listDevices().length === 0;
  } catch {
    noDevice = true;
  }

  it.skipIf(!noDevice)('RemoteSession.open on a verbs node says what is missing, and closes its control connection', async () => {
    const backend = new StandInVerbsBackend();
    const { server, port } = await start(backend);
    await expect(RemoteSession.open({ host: '127.0.0.1', port })).rejects.toMatchObject({
      message: expect.stringMatching(/RDMA|dmem_verbs/),
    });
    // Only the test's own client is still connected.
    for (let i = 0; i < 100 && server.stats().connections > 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.stats().connections).toBe(1);
  });

  it('completionError turns a work-completion status into a WorkCompletionError with the enum name', () => {
    const error = completionError('READ', WC_STATUS_BASE + 10, 2 ** 44 + 4096, 4096, { addressBase: 2 ** 44, slabSize: 65536 });
    expect(error).toBeInstanceOf(WorkCompletionError);
    expect(error).toMatchObject({ code: 'ERR_DMEM_WORK_COMPLETION', wcStatus: 10, slab: 0, errno: 0 });
    // 10 is IBV_WC_REM_ACCESS_ERR in every libibverbs; the name comes from dmem_verbs when it is built.
    if (verbsBuilt()) expect(error.status).toBe('IBV_WC_REM_ACCESS_ERR');
    expect(completionError('WRITE', 13, 0, 1, undefined)).not.toBeInstanceOf(WorkCompletionError);
  });
});
