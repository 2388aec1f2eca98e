// Runs one AdCP compliance storyboard through the official SDK's library API (@adcp/sdk), for
// storyboards that need a test kit: the `adcp storyboard run` CLI never passes one, so
// security_baseline's API-key phase is always skipped there and its `assert_mechanism` step can
// only pass through OAuth discovery. Here the storyboard's own kit (acme-outdoor) is loaded with
// its `auth.api_key` set to the buyer key the storefront issued, as a seller's own compliance
// run would configure it.
//
//   node conformance-storyboard.js MCP_URL STORYBOARD_ID API_KEY SUMMARY_OUT
// Writes {passed, failed, skipped, failures[]} to SUMMARY_OUT; exit code 0 whatever the outcome
// (the caller gates on the summary, as for the CLI). DEBUG_OUT=FILE also writes the full result.
const fs = require('fs');
const sb = require('@adcp/sdk/testing');

async function main() {
  const [url, id, key, out] = process.argv.slice(2);
  const storyboard = sb.getComplianceStoryboardById(id);
  if (!storyboard) throw new Error(`no storyboard ${id}`);
  const result = await sb.runStoryboard(url, storyboard, {
    protocol: 'mcp',
    allow_http: true,
    auth: { type: 'bearer', token: key },
    brand: { domain: 'acmeoutdoor.example' }, // the acme-outdoor kit's brand; the account names no operator
    test_kit: { auth: { api_key: key, probe_task: 'list_creatives' } },
  });
  const steps = result.phases.flatMap((p) => p.steps);
  const summary = {
    passed: steps.filter((s) => s.passed && !s.skipped).length,
    failed: steps.filter((s) => !s.passed && !s.skipped).length,
    skipped: steps.filter((s) => s.skipped).length,
    failures: steps.filter((s) => !s.passed && !s.skipped).map((s) => ({ step: s.step_id, error: s.error, validations: s.validations })),
  };
  fs.writeFileSync(out, JSON.stringify(summary, null, 1));
  if (process.env.DEBUG_OUT) fs.writeFileSync(process.env.DEBUG_OUT, JSON.stringify(result, null, 1));
}
main().catch((e) => { console.error(e); process.exit(2); });
