export {
  type DiscoveredServers,
  type DiscoverOptions,
  discoverServers,
  SERVER_MODES,
  type ServerMode,
  type ServerSource,
  ServersUnavailableError,
  serverMode,
} from './discover.ts';
export { EMBEDDED_DATA_DIR, EMBEDDED_HOME, EMBEDDED_LIMITS, startEmbedded } from './embedded.ts';
export {
  EMBEDDED_DEADLOCK_CODE,
  type EmbeddedDatabase,
  startEmbeddedDatabase,
} from './embeddedDatabase.ts';
export { POSTGRES_IMAGE, RABBITMQ_IMAGE } from './images.ts';
export {
  DEFAULT_PROBE_TIMEOUT_MS,
  type ProbeFailure,
  type ProbeResult,
  probeBroker,
  probeDatabase,
} from './probe.ts';
export {
  configuredUrl,
  DEFAULT_AMQP_URL,
  DEFAULT_DATABASE_URL,
  DEFAULT_URL,
  ENV_VARIABLE,
  type ServerKind,
  urlFromEnv,
  urlProblem,
} from './urls.ts';
