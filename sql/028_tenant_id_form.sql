-- Tenant ids of API keys: 1 to 256 characters, no control characters (tabs and newlines included), no space at either end (the rule
-- src/config.ts checks for RUNLEDGER_API_KEYS and RUNLEDGER_DEFAULT_TENANT). The tenant id is a key column of
-- every ledger table: a ~3.2 KB one made every span of its tenant fail ("index row size exceeds btree maximum",
-- rejected through partial_success), and ' acme ' was a tenant apart from 'acme'. Now an INSERT or UPDATE of
-- such a key fails at once, naming the constraint. NOT VALID: rows written before stay as they are (a key whose
-- tenant breaks the rule still works as before); `ALTER TABLE runledger.api_keys VALIDATE CONSTRAINT
-- api_keys_tenant_id_form` reports any.
ALTER TABLE runledger.api_keys ADD CONSTRAINT api_keys_tenant_id_form
  CHECK (char_length(tenant_id) BETWEEN 1 AND 256 AND tenant_id = btrim(tenant_id)
         AND tenant_id !~ '[\x01-\x1f\x7f]') NOT VALID;
