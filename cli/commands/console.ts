import { consoleAssets } from '../../console/build.js';
import { integerOption, parseCommandArgs, TARGET_OPTIONS } from '../args.js';
import { startConsoleProxy } from '../console-proxy.js';
import { EXIT, UsageError, type ExitCode } from '../errors.js';
import { regionOfApi } from '../region.js';
import { createSigner, defaultCredentials } from '../sigv4.js';
import { USAGE } from '../usage.js';

const OPTIONS = { ...TARGET_OPTIONS, port: { type: 'string' } } as const;

/** `console --api <url>`: the console of a deployed stack, on 127.0.0.1, until Ctrl-C. */
export async function consoleCommand(args: string[]): Promise<ExitCode> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, USAGE.console);
  if (values.help) {
    console.log(USAGE.console);
    return EXIT.OK;
  }
  if (positionals.length > 0) throw new UsageError(`console takes no arguments (got ${positionals.join(' ')})\n${USAGE.console}`);
  const apiUrl = values.api ?? process.env.VIDEO_PIPELINE_API;
  // The local stack needs no proxy: `npm start` serves the console at its API's own address.
  if (!apiUrl) throw new UsageError(`console needs --api <url> of a deployed stack (npm start serves the local one's console itself)\n${USAGE.console}`);
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    throw new UsageError(`--api ${apiUrl}: not a URL (e.g. https://<id>.execute-api.<region>.amazonaws.com/v1)`);
  }
  const port = integerOption(values.port, 'port', 0, 0);
  const credentials = defaultCredentials();
  // Asked once now, so missing credentials stop the command here rather than on the page's first call.
  await credentials();
  await consoleAssets();
  const proxy = await startConsoleProxy({ apiUrl: url.href, port, sign: createSigner({ region: regionOfApi(url), credentials }) });
  console.log(`Console for ${url.href} at ${proxy.pageUrl}`);
  console.log('Open that address (it carries the token the proxy asks for); Ctrl-C stops the console.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await proxy.close();
  return EXIT.OK;
}
