import { batch } from './commands/batch.js';
import { cancel } from './commands/cancel.js';
import { consoleCommand } from './commands/console.js';
import { download } from './commands/download.js';
import { generate } from './commands/generate.js';
import { list } from './commands/list.js';
import { rerun } from './commands/rerun.js';
import { status } from './commands/status.js';
import { token } from './commands/token.js';
import { upload } from './commands/upload.js';
import { webhookSecret } from './commands/webhook-secret.js';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { MAIN_USAGE, type CommandName } from './usage.js';

/** `video-pipeline <command> …`: runs one command and exits with its code (README, "## CLI"). */

const COMMANDS: Record<CommandName, (args: string[]) => Promise<ExitCode>> = {
  generate,
  upload,
  batch,
  status,
  list,
  download,
  cancel,
  rerun,
  console: consoleCommand,
  token,
  'webhook-secret': (args) => webhookSecret(args),
};

// The SDK warns on Node 20 that its 2027 releases will need Node 22: nothing a user of this CLI acts on.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function run(argv: string[]): Promise<ExitCode> {
  const [name, ...args] = argv;
  if (name === undefined) {
    console.error(MAIN_USAGE);
    return EXIT.USAGE_OR_REFUSED;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(MAIN_USAGE);
    return EXIT.OK;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as CommandName] : undefined;
  if (!command) {
    console.error(`unknown command ${name}\n\n${MAIN_USAGE}`);
    return EXIT.USAGE_OR_REFUSED;
  }
  return command(args);
}

function report(error: unknown): ExitCode {
  if (error instanceof CliError) {
    console.error(error.message);
    return error.exitCode;
  }
  console.error(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.UNEXPECTED;
}

// process.exitCode rather than exit(): stdout is flushed first when it is a pipe.
process.exitCode = await run(process.argv.slice(2)).catch(report);
