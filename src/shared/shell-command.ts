/**
 * How `sh -c` runs a start command so that the app is the process ferry signals. A single program is `exec`ed:
 * the shell becomes the app, so its pid is the app's and SIGTERM reaches it directly. A command that is more than
 * one program (`npm run build && node server.js`, `cd api && node index.js`, a pipeline) runs as written, the shell
 * staying as its parent: `exec` before it would run only the first program, or fail on a builtin such as `cd`.
 * Ferry signals the whole process group, so the app still gets SIGTERM, and a stop waits for every process of it.
 */

/** List and pipeline operators, a subshell or group, a line break, or a builtin that `exec` cannot run. */
const MORE_THAN_ONE_PROGRAM = /[;&|\n(){}]|^\s*(cd|export|set|source|\.|ulimit|umask|trap|if|for|while|until|case|exec)(\s|$)/;
/** Leading variable assignments (`NODE_ENV=production node server.js`): they go before `exec`, which takes no assignments. */
const LEADING_ASSIGNMENTS = /^((?:\s*[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"[^"]*"|[^\s'"]*))+)\s+(\S[\s\S]*)$/;

/** The script to give `sh -c` for a start command. */
export function shellStartScript(command: string): string {
  if (MORE_THAN_ONE_PROGRAM.test(command)) return command;
  const assigned = LEADING_ASSIGNMENTS.exec(command);
  return assigned ? `${assigned[1]!.trim()} exec ${assigned[2]}` : `exec ${command}`;
}
