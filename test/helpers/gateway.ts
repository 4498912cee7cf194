/** A running gateway on free ports over a fresh test database. */
import { defaults, validate, type Config } from '../../src/config.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { silentLogger, type Logger } from '../../src/log.js';
import { createTestDb, type TestDb } from './db.js';

export interface TestGateway extends Gateway {
  db: TestDb;
  close(): Promise<void>;
}

export async function startTestGateway(overrides: Partial<Config> = {}, db?: TestDb, log: Logger = silentLogger): Promise<TestGateway> {
  const tdb = db ?? (await createTestDb('gw'));
  const cfg = validate({ ...defaults, databaseUrl: tdb.url, httpPort: 0, grpcPort: 0, migrate: false, ...overrides });
  const gw = await startGateway(cfg, log);
  await gw.startup; // the first attempt at migrations and API keys: what the tests send next sees its outcome
  return {
    ...gw,
    db: tdb,
    async close() {
      await gw.stop();
      if (!db) await tdb.drop();
    },
  };
}
