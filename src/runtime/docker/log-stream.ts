/**
 * Splits Docker's multiplexed log stream (containers without a TTY): frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian length) followed by the payload.
 */
export function demuxDockerLogs(buffer: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    out += buffer.toString('utf8', offset + 8, Math.min(buffer.length, offset + 8 + length));
    offset += 8 + length;
  }
  return offset === 0 && buffer.length > 0 ? buffer.toString('utf8') : out;
}

/** Log lines of a multiplexed buffer, without the empty line after the last newline. */
export function logLines(buffer: Buffer): string[] {
  const lines = demuxDockerLogs(buffer).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** "512m" → bytes. */
export function parseMemoryBytes(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text);
  if (!match) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}
