export {
  type DiscoveredServers,
  type DiscoverOptions,
  discoverServers,
  type ServerSource,
  ServersUnavailableError,
} from './discover.ts';
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
