/**
 * Container images for the Testcontainers fallback. Keep them equal to docker-compose.yml
 * (a test compares the two), so a laptop with Docker runs the same servers either way.
 */
export const RABBITMQ_IMAGE = 'rabbitmq:4.1.4-management';
export const POSTGRES_IMAGE = 'postgres:17.6';
