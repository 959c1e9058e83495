import test from 'ava';
import {
  handlerOptions,
  Logger,
  MemoryBackend,
  MemoryTracker,
  TicketingHandler,
  TrackedStore,
} from '../../src/index.js';

/** A handler over a store with one memory tracker, as an application sets it up. */
function service(options: { commentIntervalMs?: number; deliverHeldOnClose?: boolean } = {}) {
  const store = new MemoryBackend();
  const tracker = new MemoryTracker();
  const tracked = new TrackedStore({
    store,
    trackers: [tracker],
    commentIntervalMs: options.commentIntervalMs ?? 0,
    pollIntervalMs: 50,
    leaseMs: 1_000,
    onError: () => undefined,
  });
  const handler = new TicketingHandler(tracked, {
    appId: 'svc',
    closeBackends: true,
    exitFlushMs: 0,
    ...(options.deliverHeldOnClose === undefined ? {} : { deliverHeldOnClose: options.deliverHeldOnClose }),
  });
  return { store, tracker, tracked, handler, log: new Logger('svc.jobs') };
}

/** Capture what logtickets writes on stderr while `run` runs. */
async function stderrOf<T>(run: () => Promise<T>): Promise<{ result: T; text: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { result: await run(), text };
  } finally {
    process.stderr.write = write;
  }
}

function guard<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not return within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

test('handler.close({ timeoutMs }) returns while the tracker hangs; stats say what still waits', async (t) => {
  const s = service();
  s.tracker.holdAnswers();
  s.handler.run(() => s.log.error('the queue is stuck'));
  t.true(await s.handler.flush({ timeoutMs: 5_000 }));
  const { result, text } = await stderrOf(() => guard(s.handler.close({ timeoutMs: 800 }), 15_000));
  t.true(result, 'nothing was lost: the occurrence is in the store');
  const stats = s.handler.stats();
  t.is(stats.pendingDeliveries, 1);
  t.like(stats.deliveries[0], { tracker: 'memory:tracker', pending: 1 });
  t.regex(text, /deliveries still wait in the store.*1 to memory:tracker/);
  t.is(await s.store.countOutbox(), 1, 'the delivery waits in the outbox for a later process');
  s.tracker.release();
});

test('a digest held by the comment window: close leaves it for a later process, deliverHeldOnClose sends it', async (t) => {
  const hour = 3_600_000;
  const first = service({ commentIntervalMs: hour });
  // One call site: every record below belongs to one ticket.
  const fail = () => first.log.error('payment failed');
  first.handler.run(fail);
  t.true(await first.handler.flush());
  t.true(await first.tracked.deliverPending({ timeoutMs: 5_000 }));
  first.handler.run(() => {
    fail();
    fail();
  });
  const { text } = await stderrOf(() => first.handler.close({ timeoutMs: 500 }));
  t.is(first.handler.stats().pendingDeliveries, 1);
  t.regex(text, /held by comment windows/);
  const [ticket] = first.tracker.list();
  t.is(ticket!.comments.length, 0);

  // A cron job on the same store, told to send held digests when it closes.
  const cron = new TrackedStore({
    store: first.store,
    trackers: [first.tracker],
    commentIntervalMs: hour,
    onError: () => undefined,
  });
  const handler = new TicketingHandler(cron, { closeBackends: true, exitFlushMs: 0, deliverHeldOnClose: true });
  t.true(await handler.close({ timeoutMs: 10_000 }));
  t.is(handler.stats().pendingDeliveries, 0);
  t.is(ticket!.comments.length, 1);
  t.regex(ticket!.comments[0]!, /2 more occurrences/);
});

test('close options are checked; the config key handler.deliverHeldOnClose reaches the handler', async (t) => {
  const handler = new TicketingHandler('memory:', { exitFlushMs: 0 });
  await t.throwsAsync(handler.close({ timeoutMs: 'abc' } as never), { message: /close options\.timeoutMs must be/ });
  await t.throwsAsync(handler.close({ timeotMs: 5 } as never), { message: /close options\.timeotMs is not an option/ });
  t.true(await handler.close({ timeoutMs: 1_000 }));
  t.like(handlerOptions({ handler: { deliverHeldOnClose: true } } as never), { deliverHeldOnClose: true });
  t.throws(() => new TicketingHandler('memory:', { deliverHeldOnClose: 'yes' as never }), {
    message: /deliverHeldOnClose/,
  });
});
