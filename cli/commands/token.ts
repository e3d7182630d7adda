import { issueToken } from '../../runtime/auth/api-token.js';
import { onePositional, parseCommandArgs } from '../args.js';
import { CliError, EXIT, UsageError, type ExitCode } from '../errors.js';
import { table, timestamp } from '../format.js';
import { resolveTokenTarget } from '../target.js';
import { USAGE } from '../usage.js';

const OPTIONS = {
  table: { type: 'string' },
  region: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

const TOKEN_ID = /^[0-9a-f]{16}$/;

/**
 * `token create | list | revoke`: the operator's API tokens for the drop-in provider API (README,
 * Drop-in provider API). `create` prints the token once, alone on stdout (so `TOKEN=$(…)` works);
 * only its SHA-256 is kept, so it cannot be shown again.
 */
export async function token(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.token);
  if (values.help) {
    console.log(USAGE.token);
    return EXIT.OK;
  }
  const [action, ...rest] = positionals;
  const target = () => resolveTokenTarget({ table: values.table, region: values.region });
  switch (action) {
    case 'create': {
      if (rest.length > 0) throw new UsageError(`token create takes no arguments (got ${rest.join(' ')})\n${USAGE.token}`);
      const name = values.name ?? 'unnamed';
      const { tokens, where } = await target();
      const issued = issueToken(name, new Date());
      await tokens.create(issued.record);
      if (values.json) {
        console.log(JSON.stringify({ token: issued.token, tokenId: issued.record.tokenId, name, createdAt: issued.record.createdAt }, null, 2));
      } else {
        console.log(issued.token);
        console.error(`Token ${issued.record.tokenId} (${name}) created in ${where}. It is shown this once: only its SHA-256 is kept.`);
      }
      return EXIT.OK;
    }
    case 'list': {
      if (rest.length > 0) throw new UsageError(`token list takes no arguments (got ${rest.join(' ')})\n${USAGE.token}`);
      const records = await (await target()).tokens.list();
      const visible = records.map(({ tokenId, name, createdAt, revokedAt }) => ({ tokenId, name, createdAt, ...(revokedAt ? { revokedAt } : {}) }));
      if (values.json) console.log(JSON.stringify(visible, null, 2));
      else if (visible.length === 0) console.log('No tokens.');
      else {
        console.log(
          table(
            ['TOKEN ID', 'NAME', 'CREATED', 'STATUS'],
            visible.map((record) => [
              record.tokenId,
              record.name,
              timestamp(record.createdAt),
              record.revokedAt ? `revoked ${timestamp(record.revokedAt)}` : 'active',
            ]),
          ),
        );
      }
      return EXIT.OK;
    }
    case 'revoke': {
      const tokenId = onePositional(rest, 'tokenId', USAGE.token);
      if (!TOKEN_ID.test(tokenId)) throw new UsageError(`${tokenId}: a token id is 16 hex digits (token list shows them)`);
      const revoked = await (await target()).tokens.revoke(tokenId, new Date());
      if (!revoked) throw new CliError(`no token ${tokenId}`, EXIT.USAGE_OR_REFUSED);
      console.log(`Token ${tokenId} (${revoked.name}) revoked at ${timestamp(revoked.revokedAt!)}: the drop-in API refuses it from its next request.`);
      return EXIT.OK;
    }
    default:
      throw new UsageError(`${action === undefined ? 'token needs an action' : `unknown token action ${action}`}\n${USAGE.token}`);
  }
}
