// One PostgreSQL for the whole run (the suite's own throwaway cluster, or the developer's
// server named by TASKSD_TEST_POSTGRES_URL); tests make their own databases on it with
// postgres().createDatabase(name), so they stay independent.
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres';

let server: ThrowawayPostgres | undefined;

export function postgres(): ThrowawayPostgres {
  if (!server) throw new Error('the root hooks did not start PostgreSQL');
  return server;
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120_000);
    const started = Date.now();
    server = await startThrowawayPostgres();
    // One line, so CI output shows which PostgreSQL the catalog tests ran against.
    console.log(`tasksd tests: ${server.description}, ready in ${Date.now() - started} ms`);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await server?.stop();
    server = undefined;
  },
};
