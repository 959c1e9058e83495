/**
 * The shape of a logtickets config file, as a zod schema: what each key
 * means, its type and its limits. Every object is strict (an unknown key —
 * usually a typo — is an error) and may carry a `$comment` for the people
 * who review the file. Defaults are not filled in here: each one lives with
 * the option it belongs to (TicketingHandler, the backends), so a config file
 * and code that builds logtickets by hand behave the same.
 *
 * Messages never include the value that was given: a value may be a secret.
 *
 * zod is loaded and the schema built on the first use (`configSchemas()`),
 * not when logtickets is imported: it costs about 70 ms and 6 MB, which an
 * application that builds its handler in code, or only logs, should not pay.
 * loadConfig is synchronous, so zod is required (its CommonJS build) rather
 * than imported.
 */

import { createRequire } from 'node:module';
import type { z as zod } from 'zod';
import { MAX_REGRESSION_GRACE_MS } from '../backends/ticket-state.js';
import { MAX_BREADCRUMBS } from '../context/breadcrumbs.js';
import { clean } from '../context/release.js';
import { MAX_LINGER_MS } from '../ticketing/ticketing-options.js';
import { FINGERPRINT_MODES, PATH_STYLES } from '../fingerprint/fingerprint.js';
import { parseLevel } from '../logging/level.js';
import { compileValuePattern } from '../ticketing/redaction.js';
import { SUPPORTED_URIS } from '../backends/open-backend.js';
import { isMongoUri, parseMongoUri } from '../backends/mongodb/mongodb-uri.js';
import { isSqlUri, parseSqlUri } from '../backends/sql/sql-uri.js';
import { LogticketsError } from '../errors.js';

// For packages loaded on first use by synchronous code (see above).
const require = createRequire(import.meta.url);

/** Why a store URI cannot be used, read without connecting (the message masks any password). */
function storeUriProblem(uri: string): string | undefined {
  if (uri === 'memory:') return undefined;
  try {
    if (isSqlUri(uri)) parseSqlUri(uri);
    else if (isMongoUri(uri)) parseMongoUri(uri);
    else return `expected a store URI: ${SUPPORTED_URIS.join(', ')}`;
    return undefined;
  } catch (error) {
    return error instanceof LogticketsError ? error.message : 'not a usable store URI';
  }
}

function buildSchemas(z: typeof zod) {
  const comment = { $comment: z.string().optional() };

  function block<T extends zod.ZodRawShape>(shape: T) {
    return z.strictObject({ ...shape, ...comment });
  }

  const count = z.number().int().min(1);
  const ms = z.number().int().min(0);
  const text = z.string().min(1, 'must not be empty');
  const names = z.array(text);
  // A release or environment: a name people read and filter by.
  const deployName = text.max(200).refine((value) => clean(value) !== null, 'expected one line of text');

  const level = z
    .union([z.string(), z.number().int()], { error: 'expected a level name or number' })
    .refine(
      (value) => parseLevel(value) !== undefined,
      'expected a level: TRACE, DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL or a number',
    );

  const retry = block({ initialMs: z.number().min(1).optional(), maxMs: z.number().min(1).optional() });

  const httpUrl = text.refine((value) => {
    try {
      return /^https?:$/.test(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL');

  const handlerSchema = block({
    level: level.optional(),
    appId: text.optional(),
    hashSalt: z.string().optional(),
    projectRoot: text.optional(),
    fingerprint: z.enum(FINGERPRINT_MODES as [string, ...string[]]).optional(),
    pathStyle: z.enum(PATH_STYLES as [string, ...string[]]).optional(),
    maxQueue: count.optional(),
    maxFolded: count.optional(),
    batchSize: count.optional(),
    lingerMs: ms.max(MAX_LINGER_MS).optional(),
    maxRejectedAttempts: count.optional(),
    flushTimeoutMs: ms.optional(),
    deliverHeldOnClose: z.boolean().optional(),
    regressionGraceMs: ms.max(MAX_REGRESSION_GRACE_MS).optional(),
    titleLength: count.optional(),
    release: deployName.nullable().optional(),
    environment: deployName.nullable().optional(),
    breadcrumbs: z.number().int().min(0).max(MAX_BREADCRUMBS).optional(),
    retry: retry.optional(),
    limits: block({
      maxDepth: count.max(1000).optional(),
      maxStringLength: count.optional(),
      maxArrayLength: count.optional(),
      maxKeys: count.optional(),
      maxTotalNodes: count.optional(),
    }).optional(),
  });

  const storeSchema = z.preprocess(
    (value) => (typeof value === 'string' ? { uri: value } : value),
    block({
      uri: text.superRefine((uri, ctx) => {
        const problem = storeUriProblem(uri);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9_]*$/, 'expected letters, digits and _ only')
        .optional(),
      busyTimeoutMs: ms.optional(),
      poolSize: count.optional(),
      connectTimeoutMs: count.optional(),
      database: text.optional(),
      retention: count.optional(),
      serverSelectionTimeoutMs: count.optional(),
      idleCloseMs: ms.optional(),
    }),
  );

  const trackerCommon = {
    /** How this tracker is named in `check-config` and `sync` output (default: its URL or owner/repo). */
    name: text.optional(),
    commentIntervalMs: ms.optional(),
    pollIntervalMs: z.number().int().min(10).max(3_600_000).optional(),
    leaseMs: z.number().int().min(100).max(3_600_000).optional(),
    /** How often the deliverer reads changes made in the tracker (default 60 000; 0: never). */
    syncIntervalMs: z.number().int().min(0).max(3_600_000).optional(),
    timeoutMs: count.optional(),
    retry: retry.optional(),
  };

  const tracSchema = block({
    type: z.literal('trac'),
    ...trackerCommon,
    url: httpUrl,
    username: text.optional(),
    password: z.string().optional(),
    hashField: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, 'expected a Trac field name: lower-case letters, digits and _')
      .optional(),
    fields: block({
      type: z.string().optional(),
      component: z.string().optional(),
      priority: z.string().optional(),
      milestone: z.string().optional(),
      owner: z.string().optional(),
      keywords: z.string().optional(),
      cc: z.string().optional(),
      version: z.string().optional(),
    }).optional(),
    mutedResolutions: names.optional(),
    tls: block({ ca: text.optional(), rejectUnauthorized: z.boolean().optional() }).optional(),
    proxy: z.union([z.literal(false), httpUrl], { error: 'expected an http(s) URL or false' }).optional(),
    writeBudget: z.array(block({ writes: z.number().int().min(0), perMs: count })).optional(),
  });

  const githubSchema = block({
    type: z.literal('github'),
    ...trackerCommon,
    owner: text,
    repo: text,
    token: text.optional(),
    app: block({
      appId: z.union([count, text], { error: 'expected a whole number or text' }),
      privateKey: text,
      installationId: z.union([count, text], { error: 'expected a whole number or text' }),
    }).optional(),
    baseUrl: httpUrl.optional(),
    labels: names.min(1, 'needs at least one label (the first is how logtickets finds its issues)').optional(),
    assignees: names.optional(),
    regressionLabel: text.optional(),
    mutedLabels: names.optional(),
    writeBudget: z.array(block({ writes: count, perMs: count })).optional(),
    writeIntervalMs: ms.optional(),
    notifyIntervalMs: ms.optional(),
  }).superRefine(
    (parsed, ctx) => {
      // Runs even when other keys are wrong, so this problem is listed with theirs.
      const value = parsed as { token?: unknown; app?: unknown };
      if ((value.token === undefined) === (value.app === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['token'],
          message:
            value.token === undefined
              ? 'required: give token (or token_file), or app for a GitHub App'
              : 'give token or app, not both',
        });
      }
    },
    { when: (payload) => payload.value !== null && typeof payload.value === 'object' },
  );

  const redactionSchema = block({
    keys: names.optional(),
    values: z
      .array(
        z.string().superRefine((source, ctx) => {
          try {
            compileValuePattern(source);
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: `not a usable regular expression: ${(error as Error).message}` });
          }
        }),
      )
      .optional(),
    defaults: z.boolean().optional(),
    replacement: z.string().optional(),
  });

  const configSchema = block({
    $schema: z.string().optional(),
    handler: handlerSchema.optional(),
    store: storeSchema.optional(),
    comments: block({ intervalMs: ms.optional() }).optional(),
    trackers: z.array(z.discriminatedUnion('type', [tracSchema, githubSchema])).optional(),
    redaction: redactionSchema.optional(),
  });

  return { configSchema, handlerSchema, storeSchema, tracSchema, githubSchema, redactionSchema };
}

export type ConfigSchemas = ReturnType<typeof buildSchemas>;

let schemas: ConfigSchemas | undefined;

/** The schema of a config file and of its blocks, built on the first call. */
export function configSchemas(): ConfigSchemas {
  schemas ??= buildSchemas((require('zod') as { z: typeof zod }).z);
  return schemas;
}

export type LogticketsConfig = zod.infer<ConfigSchemas['configSchema']>;
export type TracConfig = zod.infer<ConfigSchemas['tracSchema']>;
export type GitHubConfig = zod.infer<ConfigSchemas['githubSchema']>;
export type StoreConfig = zod.infer<ConfigSchemas['storeSchema']>;
