/**
 * The shipped fallback price list (fallback-prices.json, in the price file's format): models the earlier
 * hand-kept table priced that the pinned manifest lacks. Consulted after the price file and the manifest;
 * its price references are `runledger-fallback@<hash>:<match>`.
 */
import shipped from './fallback-prices.json' with { type: 'json' };
import { compilePriceDoc, contentHash, type PriceFile } from './price-file.js';

/** The shipped list as a parsed document (tests pass their own to PriceTable). */
export const SHIPPED_FALLBACK: unknown = shipped;

/**
 * The fallback list as a PriceFile. Its version hashes the list together with the manifest's source
 * (`genai-prices@<version>`): a fallback price stands only because that manifest lacks the model, so
 * an upgraded manifest makes the nodes it priced stale and `reprice` resolves them again (the manifest
 * first), as it does the manifest's own nodes.
 */
export function loadFallback(manifestSource: string, doc: unknown = SHIPPED_FALLBACK): PriceFile {
  const source = `runledger-fallback@${contentHash(`${manifestSource}\n${JSON.stringify(doc)}`)}`;
  return compilePriceDoc(doc, 'shipped fallback prices', source);
}
