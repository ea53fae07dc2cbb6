import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CONFIG_FILE, loadConfig } from '../config/load.js';
import { scanSchema } from '../config/schema.js';
import { hasLockfile, scanProject, summarize, writeSarifFiles, writeSbom } from '../scan/scan.js';
import { SEVERITIES, type Severity, type ToolName, type ToolReport } from '../scan/types.js';
import { uploadSarif, uploadTarget } from '../scan/upload.js';
import { FerryError } from '../util/errors.js';
import { ExitCode } from '../errors/exit-codes.js';
import { progress, type Io } from './output.js';
import { ScanStore } from '../scan/store.js';
import { openDb } from '../store/db.js';
import { statePaths } from '../state/paths.js';
import { run } from '../util/run.js';

/** Keeps the reports in the project's state, with the commit they scanned: the dashboard's security view reads them. */
async function recordScan(projectDir: string, reports: ToolReport[]): Promise<void> {
  const head = await run('git', ['rev-parse', 'HEAD'], { cwd: projectDir, timeoutMs: 10_000 });
  const db = openDb(statePaths(projectDir).db);
  try {
    new ScanStore(db).record(reports, head.exitCode === 0 ? head.stdout.trim() : null);
  } finally {
    db.close();
  }
}

export interface ScanOptions {
  sarif?: string;
  sbom?: string;
  failOn?: string;
  auditReport?: string;
  dependencyCheck?: string;
  image?: string;
  upload?: boolean;
  tool?: ToolName[];
}

const VERSION = '0.1.0';

/** `ferry scan`: exit 1 when a finding is at least --fail-on (default scan.fail_on); a tool that could not scan is shown, never counted as clean. */
export async function scan(io: Io, projectDir: string, options: ScanOptions): Promise<number> {
  const config = existsSync(join(projectDir, CONFIG_FILE)) ? loadConfig(projectDir).scan : scanSchema.parse({});
  const failOn = (options.failOn ?? config.fail_on) as Severity;
  if (!SEVERITIES.includes(failOn)) throw new FerryError({ code: 'USAGE', message: `--fail-on ${options.failOn}: expected one of ${SEVERITIES.join(', ')}` });
  if (!hasLockfile(projectDir)) throw new FerryError({ code: 'SCAN_NO_LOCKFILE', message: `no package-lock.json in ${projectDir}`, hint: 'Run `npm install` to create it: the scan reads the exact dependency tree from it.' });
  const say = progress(io);
  // File options are paths as the user typed them: relative to the current directory, like any command's.
  const path = (file?: string) => (file ? resolve(file) : undefined);
  const reports = await scanProject({ projectDir, config, tools: options.tool, auditReport: path(options.auditReport), dependencyCheckReport: path(options.dependencyCheck), image: options.image, log: say });
  const outcome = summarize(reports, failOn);
  if (existsSync(join(projectDir, CONFIG_FILE))) await recordScan(projectDir, reports);
  const sarifFiles = options.sarif ? writeSarifFiles(reports, options.sarif, VERSION) : [];
  const sbomComponents = options.sbom ? writeSbom(projectDir, options.sbom) : undefined;
  const uploads: Array<{ file: string; id?: string }> = [];
  if (options.upload) {
    if (!sarifFiles.length) throw new FerryError({ code: 'USAGE', message: '--upload needs --sarif <dir>' });
    const target = await uploadTarget(projectDir);
    for (const [i, file] of sarifFiles.entries()) uploads.push({ file, ...(await uploadSarif(target, file, `ferry ${reports[i].tool}`)) });
  }
  // A tool that could not scan is not a clean result: exit 13 unless a finding already fails the scan.
  const code = outcome.failing > 0 ? ExitCode.failedPreviousServing : reports.some((r) => !r.scanned) ? ExitCode.nothingChecked : ExitCode.succeeded;
  if (io.json) {
    io.out(JSON.stringify({ exitCode: code, failOn, failing: outcome.failing, tools: reports.map((r) => ({ tool: r.tool, scanned: r.scanned, reason: r.reason, counts: outcome.counts[r.tool], findings: r.findings })), sarif: sarifFiles, sbom: options.sbom ?? null, uploads }, null, 2));
    return code;
  }
  io.out(`${'tool'.padEnd(18)}${'result'.padEnd(14)}findings (critical/high/moderate/low/info)`);
  for (const r of reports) {
    const c = outcome.counts[r.tool];
    io.out(`${r.tool.padEnd(18)}${(r.scanned ? 'scanned' : 'not scanned').padEnd(14)}${r.scanned ? `${r.findings.length} (${c.critical}/${c.high}/${c.moderate}/${c.low}/${c.info})` : r.reason}`);
  }
  for (const r of reports) for (const f of r.findings) io.out(`  ${f.severity.padEnd(9)} ${r.tool}: ${f.message} (${f.location.file}:${f.location.line})`);
  for (const file of sarifFiles) io.out(`wrote ${relative(process.cwd(), file) || file}`);
  if (options.sbom) io.out(`wrote ${options.sbom} (CycloneDX 1.5, ${sbomComponents} components)`);
  for (const u of uploads) io.out(`uploaded ${u.file}${u.id ? ` (id ${u.id})` : ''}`);
  io.out(`${outcome.failing} finding(s) at or above ${failOn}${reports.some((r) => !r.scanned) ? `; not scanned: ${reports.filter((r) => !r.scanned).map((r) => r.tool).join(', ')}` : ''} (exit ${code})`);
  return code;
}
