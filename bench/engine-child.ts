/** Child process of the bench: an in-memory dynalite on port 0, so the engine gets its own core. */
import { startDynalite } from '../local/engines.js';

const engine = await startDynalite();
process.send?.({ endpoint: engine.endpoint });
// The parent owns this process: end with it.
process.on('disconnect', () => {
  void engine.close().finally(() => process.exit(0));
});
