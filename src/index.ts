// The public API of logtickets. Each name is defined in the file named after it.
export { LogticketsError, maskSecrets, type ErrorCode } from './errors.js';
export { Level, levelName, parseLevel, type LevelName } from './logging/level.js';
export { Logger, type LoggerOptions } from './logging/logger.js';
export { LogRecord, type LogOptions, type ProcessInfo, type RecordOrigin } from './logging/record.js';
export { Handler, type HandlerOptions, type RecordFilter } from './logging/handler.js';
export { TestHandler } from './logging/test-handler.js';
export { formatMessage } from './logging/format.js';
export { toJsonSafe, DEFAULT_JSON_SAFE_LIMITS, type JsonValue, type JsonSafeLimits } from './logging/json-safe.js';
export type { CallSite, WrapperMatcher } from './logging/call-site.js';
export { logbookHash, type LogbookHashInput } from './fingerprint/logbook-hash.js';
export { fingerprint, defaultSalt } from './fingerprint/fingerprint.js';
export {
  TicketingHandler,
  type TicketingHandlerOptions,
  type TicketingStats,
  type ErrorHook,
} from './ticketing/ticketing-handler.js';
export type { WriterStats, DropReason } from './ticketing/backend-writer.js';
export type * from './backends/contract.js';
export { isTicketStore } from './backends/contract.js';
export type * from './backends/analytics.js';
export { isAnalytics, fillBuckets, BUCKETS, BUCKET_MS } from './backends/analytics.js';
export { openBackend, defaultStoreUri, type Target, type OpenBackendOptions } from './backends/open-backend.js';
export { MemoryBackend, type MemoryBackendOptions } from './backends/memory/memory-backend.js';
export { SqlBackend, type SqlBackendOptions } from './backends/sql/sql-backend.js';
export {
  MongoDBBackend,
  type MongoDBBackendOptions,
  type MongoClientLike,
  type MongoWriteConcern,
} from './backends/mongodb/mongodb-backend.js';
export type {
  Tracker,
  TrackerProblem,
  TrackerCallOptions,
  TrackerChange,
  TrackerWriteOptions,
  AddResult,
  OccurrenceSummary,
} from './backends/tracker/tracker.js';
export {
  TrackedStore,
  type TrackedStoreOptions,
  type TrackerEntry,
  type DeliveryCounts,
  type DeliveryOptions,
} from './backends/tracker/tracked-store.js';
export type { CloseOptions, DeliveryReport, DelivererStats } from './backends/delivery-report.js';
export { ticketLinks, type TicketLink, type LinkedTracker } from './backends/tracker/ticket-links.js';
export { MemoryTracker, type MemoryTrackerOptions, type MemoryTicket } from './backends/tracker/memory-tracker.js';
export { TracTracker, type TracTrackerOptions, type TracTicketFields } from './backends/trac/trac-tracker.js';
export { GitHubTracker, type GitHubTrackerOptions, type GitHubAppAuth } from './backends/github/github-tracker.js';
export { GITHUB_WRITE_BUDGET, type BudgetWindow } from './backends/github/write-budget.js';
export type { SetupCheck } from './backends/tracker/setup-check.js';
export type { FingerprintMode, PathStyle } from './fingerprint/fingerprint.js';
export { Redactor, DEFAULT_REDACTED_KEYS, type RedactionOptions } from './ticketing/redaction.js';
export { createHandlerFromConfig, openConfigured, handlerOptions, type Configured } from './config/create-handler.js';
export { loadConfig, ConfigError, type LoadConfigOptions, type LoadedConfig } from './config/load-config.js';
export type { LogticketsConfig } from './config/config-schema.js';
export { handleForeign, parseCallSite, callSiteFromError, type ForeignRecord } from './integrations/foreign-record.js';
export { captureUncaught, type CaptureUncaughtOptions } from './integrations/capture-uncaught.js';
export { init, type InitOptions, type Logtickets } from './init.js';
export { runInScope, currentScope, type RequestContext } from './context/scope.js';
export { detectRelease, type DetectedRelease } from './context/release.js';
export { addBreadcrumb } from './context/scope.js';
